import { Type } from 'class-transformer';
import { IsInt, IsNotEmpty, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { ORDER_ID_MAX } from '@tillbus/result-codes';

/** `tillbus.order-reconciliation.get`. */
export class GetOrderRequest {
  @IsString()
  @IsNotEmpty()
  @MaxLength(ORDER_ID_MAX)
  requestOrderId!: string;
}

/** `tillbus.order-reconciliation.stuck`. */
export class StuckOrdersRequest {
  /** Non-final orders created at least this long ago count as stuck; defaults to STUCK_AFTER_MS. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(365 * 86_400_000)
  olderThanMs?: number;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;
}

/** `tillbus.order-reconciliation.redeliver`. */
export class RedeliverRequest {
  @IsString()
  @IsNotEmpty()
  @MaxLength(ORDER_ID_MAX)
  requestOrderId!: string;

  /** Which notification; by default the order's latest failed_final or dead_letter one. */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(255)
  requestId?: string;
}
