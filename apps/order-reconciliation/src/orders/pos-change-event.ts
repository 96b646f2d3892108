import { type OrderChangeView, POS_CHANGE_KINDS, type PosChangeKind } from '@tillbus/contracts';
import {
  DeliveryStatusEvent,
  PosChangeEventBase,
  ReadyTimeEvent,
  RefundAmountEvent,
  RefundEvent,
  ShortOrderNumberEvent,
} from '@tillbus/contracts/dto';
import { PermanentError } from '@tillbus/messaging';
import { describeViolations, validatePlain } from '@tillbus/validation';

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
