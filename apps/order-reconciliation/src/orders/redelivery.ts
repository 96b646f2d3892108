import { clip, NotificationNotFoundError, NotRedeliverableError, SupersededError } from './errors';
import type { NotificationRecord, OrderRecord } from './order-record';

/**
 * The notification an operator's redeliver starts again: the one named, or the order's latest failed one. Refused
 * when it was skipped or delivered, or when D-Store already got a later notification that replaces it.
 */
export function pickForRedelivery(order: OrderRecord, requestId?: string): NotificationRecord {
  const failed = (n: NotificationRecord) =>
    n.skipped === undefined &&
    (n.delivery.status === 'failed_final' || n.delivery.status === 'dead_letter');
  const target =
    requestId === undefined
      ? [...order.notifications].reverse().find(failed)
      : order.notifications.find((n) => n.requestId === requestId);
  if (!target) {
    if (requestId !== undefined)
      throw new NotificationNotFoundError(order.requestOrderId, requestId);
    throw new NotRedeliverableError(
      `order ${clip(order.requestOrderId)} has no failed or dead-lettered notification`,
    );
  }
  if (target.skipped)
    throw new NotRedeliverableError(
      `notification ${target.requestId} was skipped: ${target.skipped.reason}`,
    );
  if (target.delivery.status === 'delivered')
    throw new NotRedeliverableError(`notification ${target.requestId} was already delivered`);
  const later = order.notifications.find(
    (n) => n.seq > target.seq && n.delivery.status === 'delivered' && supersedes(n, target),
  );
  if (later && failed(target))
    throw new SupersededError(
      `D-Store already has the later ${describe(later)} (${later.requestId}); sending ${describe(target)} now would move it backwards`,
      { laterRequestId: later.requestId },
    );
  return target;
}

/**
 * A later notification replaces an earlier one that sets the same thing: a status, a pickup code, a ready time or a
 * delivery status. A refund is never replaced: each one is money the buyer is owed.
 */
function supersedes(later: NotificationRecord, earlier: NotificationRecord): boolean {
  if (earlier.orderStatus !== undefined) return later.orderStatus !== undefined;
  const field = Object.keys(earlier.change ?? {})[0];
  return (
    field !== undefined &&
    field !== 'refundAmount' &&
    later.change?.[field as 'readyTime'] !== undefined
  );
}

function describe(n: NotificationRecord): string {
  if (n.orderStatus !== undefined) return `status ${n.orderStatus}`;
  return Object.keys(n.change ?? {}).join(', ') || 'change';
}
