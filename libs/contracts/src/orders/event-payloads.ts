import { Type } from 'class-transformer';
import {
  IsDefined,
  IsInt,
  IsISO8601,
  IsNotEmpty,
  IsObject,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import {
  AMOUNT_VALUE_MAX,
  DATETIME_MAX,
  DELIVERY_STATUS_MAX,
  ID_MAX,
  ORDER_ID_MAX,
} from '@tillbus/result-codes';

/**
 * The body of a POS lifecycle event on `tillbus.events.orders.<kind>.<orderToken>`. The kind in the subject says
 * what happened; the body says to which order.
 */
export class OrderLifecycleEvent {
  @IsString()
  @IsNotEmpty()
  @MaxLength(ORDER_ID_MAX)
  requestOrderId!: string;

  /** The POS's id for this event; a redelivered or republished event with the same id is applied once. */
  @ValidateIf((_o, v) => v !== undefined)
  @IsString()
  @Matches(/^[\x21-\x7e]{1,128}$/, { message: 'eventId must be 1-128 visible ASCII characters' })
  eventId?: string;

  @ValidateIf((_o, v) => v !== undefined)
  @IsISO8601({ strict: true })
  occurredAt?: string;

  /** Checked by hand: free-form JSON that class-transformer must not walk. */
  extendInfo?: string | Record<string, unknown>;
}

/**
 * The bodies of the POS's change events (`tillbus.events.orders.<change kind>.<orderToken>`): our own contract, so
 * strict. An unknown field, a missing one or a value D-Store could not take is refused, never guessed at.
 */

const VISIBLE_ASCII = /^[\x21-\x7e]{1,128}$/;
const optional = () => ValidateIf((_o, v) => v !== undefined);

export class PosChangeEventBase {
  @IsString()
  @IsNotEmpty()
  @MaxLength(ORDER_ID_MAX)
  requestOrderId!: string;

  /** The POS's id for this event; a redelivered or republished event with the same id is applied once. */
  @optional()
  @IsString()
  @Matches(VISIBLE_ASCII, { message: 'eventId must be 1-128 visible ASCII characters' })
  eventId?: string;

  @optional()
  @IsISO8601({ strict: true })
  occurredAt?: string;

  /**
   * The operator or POS identity that asked for the change (`till-3`, `operator:alice`). NATS does not tell a
   * JetStream consumer who published a message, so the POS says it; required on a refund.
   */
  @optional()
  @IsString()
  @Matches(VISIBLE_ASCII, { message: 'requestedBy must be 1-128 visible ASCII characters' })
  requestedBy?: string;
}

export class ShortOrderNumberEvent extends PosChangeEventBase {
  /** The code the buyer shows at the counter (notifyOrderChange shortOrderNumber, at most 255 characters). */
  @IsString()
  @IsNotEmpty()
  @MaxLength(ID_MAX)
  shortOrderNumber!: string;
}

export class ReadyTimeEvent extends PosChangeEventBase {
  /** When the order will be ready: ISO 8601 with a time zone. */
  @IsString()
  @MaxLength(DATETIME_MAX)
  @IsISO8601({ strict: true }, { message: 'readyTime must be an ISO 8601 datetime' })
  @Matches(/(Z|[+-]\d\d:?\d\d)$/, { message: 'readyTime must carry a time zone (Z or ±hh:mm)' })
  readyTime!: string;
}

export class RefundAmountEvent {
  /** Minor units; a refund of nothing is not a refund. */
  @IsInt()
  @Min(1)
  @Max(AMOUNT_VALUE_MAX)
  value!: number;

  @IsString()
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be 3 upper-case letters (ISO 4217)' })
  currency!: string;
}

export class RefundEvent extends PosChangeEventBase {
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => RefundAmountEvent)
  refundAmount!: RefundAmountEvent;

  /** Why, for the order's history (never sent to D-Store). */
  @optional()
  @IsString()
  @MaxLength(256)
  reason?: string;
}

export class DeliveryStatusEvent extends PosChangeEventBase {
  /** D-Store's delivery status code; its list of values is cut off in our copies, so any short code is taken. */
  @IsString()
  @Matches(/^[A-Z][A-Z0-9_]*$/, {
    message: 'deliveryStatus must be an upper-case code such as DELIVERING',
  })
  @MaxLength(DELIVERY_STATUS_MAX)
  deliveryStatus!: string;
}
