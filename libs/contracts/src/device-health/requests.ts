import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import {
  HEALTH_STATUSES,
  HEALTH_VENDORS,
  type HealthStatus,
  type HealthVendor,
} from '@tillbus/result-codes';
import { TERMINAL_ID_PATTERN } from './ids';

const TERMINAL_ID_MESSAGE = { message: 'terminalId must be 1-64 of A-Z a-z 0-9 _ -' };

/** `tillbus.device-health.readiness` and `tillbus.device-health.diagnose`. */
export class TerminalRef {
  @Matches(TERMINAL_ID_PATTERN, TERMINAL_ID_MESSAGE)
  terminalId!: string;
}

/** `tillbus.device-health.terminals.remove`. */
export class RemoveTerminalRequest extends TerminalRef {}

/** `tillbus.device-health.terminals.list`: filters, then a page in terminalId order. */
export class ListTerminalsRequest {
  @IsOptional()
  @IsIn(HEALTH_VENDORS)
  vendor?: HealthVendor;

  @IsOptional()
  @IsString()
  @Matches(/^[^\x00-\x1f]{1,128}$/, { message: 'storeId must be 1-128 printable characters' })
  storeId?: string;

  /** The current status (a stale answer counts as UNKNOWN). */
  @IsOptional()
  @IsIn(HEALTH_STATUSES)
  status?: HealthStatus;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;

  /** The nextCursor of the previous page: the list continues after this terminalId. */
  @IsOptional()
  @Matches(TERMINAL_ID_PATTERN, { message: 'cursor must be a terminalId from nextCursor' })
  cursor?: string;
}
