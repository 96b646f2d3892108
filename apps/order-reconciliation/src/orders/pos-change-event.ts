import { POS_CHANGE_KINDS, type OrderChangeView, type PosChangeKind } from '@tillbus/contracts';
import { PermanentError } from '@tillbus/messaging';
import {
  AMOUNT_VALUE_MAX,
  DATETIME_MAX,
  DELIVERY_STATUS_MAX,
  ID_MAX,
  ORDER_ID_MAX,
} from '@tillbus/protocols-antom';
import { describeViolations, validatePlain } from '@tillbus/validation';
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

/**
 * The bodies of the POS's change events (`tillbus.events.orders.<change kind>.<orderToken>`): our own contract, so
 * strict. An unknown field, a missing one or a value D-Store could not take is refused, never guessed at.
 */

const VISIBLE_ASCII = /^[\x21-\x7e]{1,128}$/;
const optional = () => ValidateIf((_o, v) => v !== undefined);

class PosChangeEventBase {
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

const SCHEMAS = {
  'short-order-number': ShortOrderNumberEvent,
  'ready-time': ReadyTimeEvent,
  refund: RefundEvent,
  'delivery-status': DeliveryStatusEvent,
} as const satisfies Record<PosChangeKind, new () => PosChangeEventBase>;

/** A change event as applied: which order, who asked, and exactly the one change it makes. */
export interface PosChangeEvent {
  requestOrderId: string;
  eventId?: string;
  occurredAt?: string;
  requestedBy?: string;
  reason?: string;
  change: OrderChangeView;
}

/** Validates a change event's body strictly; a PermanentError says what is wrong (the event is dead-lettered). */
export function parsePosChangeEvent(kind: PosChangeKind, body: unknown): PosChangeEvent {
  const checked = validatePlain<PosChangeEventBase>(SCHEMAS[kind], body, { root: 'event' });
  if (!checked.ok)
    throw new PermanentError(`invalid ${kind} event: ${describeViolations(checked.violations)}`);
  const event = checked.value as PosChangeEventBase & Record<string, unknown>;
  // Every refund is recorded with who asked for it.
  if (kind === 'refund' && event.requestedBy === undefined)
    throw new PermanentError('invalid refund event: event.requestedBy: is required on a refund');
  const field = POS_CHANGE_KINDS[kind];
  const value = event[field];
  const change: OrderChangeView =
    value instanceof RefundAmountEvent
      ? { refundAmount: { value: value.value, currency: value.currency } }
      : { [field]: value };
  return {
    requestOrderId: event.requestOrderId,
    ...(event.eventId === undefined ? {} : { eventId: event.eventId }),
    ...(event.occurredAt === undefined ? {} : { occurredAt: event.occurredAt }),
    ...(event.requestedBy === undefined ? {} : { requestedBy: event.requestedBy }),
    ...(typeof event.reason === 'string' ? { reason: event.reason } : {}),
    change,
  };
}
