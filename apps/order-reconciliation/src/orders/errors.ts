import {
  codedError,
  NotFoundError,
  type OrderReconciliationErrorCode,
  UnavailableError,
} from '@tillbus/contracts';
import type { OrderJourneyRefusal } from '@tillbus/result-codes';

/** JetStream (KV or stream) did not answer: transient by nature, so D-Store gets U and the bus UNAVAILABLE. */
export class StoreUnavailableError extends UnavailableError {}

export class OrderNotFoundError extends NotFoundError {
  constructor(readonly requestOrderId: string) {
    super(`order ${clip(requestOrderId)} was never stored here (requestOrderId unknown)`, {
      field: 'requestOrderId',
    });
  }
}

export class NotificationNotFoundError extends NotFoundError {
  constructor(requestOrderId: string, requestId: string) {
    super(`order ${clip(requestOrderId)} has no notification ${clip(requestId)}`, {
      field: 'requestId',
    });
  }
}

/** The same idempotency key came back with different content. */
export class OrderConflictError extends codedError<OrderReconciliationErrorCode>(
  'CONFLICT',
  'OrderConflictError',
) {}

/** The order journey refused a reported status; the refusal is recorded on the order. */
export class OrderRefusedError extends codedError<OrderReconciliationErrorCode>(
  'REFUSED',
  'OrderRefusedError',
) {
  constructor(
    readonly reason: OrderJourneyRefusal,
    message: string,
  ) {
    super(message, { reason });
  }
}

export class NotRedeliverableError extends codedError<OrderReconciliationErrorCode>(
  'NOT_REDELIVERABLE',
  'NotRedeliverableError',
) {}

/** Redelivering would tell D-Store an older status after a newer one it already has. */
export class SupersededError extends codedError<OrderReconciliationErrorCode>(
  'SUPERSEDED',
  'SupersededError',
) {}

/** Ids in messages are cut short: they are D-Store's and harmless, but unbounded. */
export function clip(text: string, max = 80): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
