import type { AmountView, OrderChangeView, PosChangeKind } from '@tillbus/contracts';
import { newDelivery, type DStoreOrderStatus } from '@tillbus/result-codes';
import {
  bounded,
  notificationRequestId,
  ORDER_LIMITS,
  type ChangeEntry,
  type NotificationRecord,
  type OrderRecord,
  type RefundEntry,
} from './order-record';

/**
 * The POS's changes besides a status (short order number, ready time, refund, merchant delivery status), applied to
 * the order. Each applied change queues one notifyOrderChange carrying only that change, in the same record write
 * as the change itself, so it goes through the outbox like a status: one requestId, ordered, dead-lettered and
 * redeliverable. Everything here is pure.
 */

/** Refunds one order may have: keeps the record bounded; a refund beyond them is refused. */
export const REFUNDS_MAX = 50;

/** Statuses after which the buyer has nothing to collect or wait for. */
const FAILED: ReadonlySet<DStoreOrderStatus> = new Set(['CANCELLED', 'REJECTED', 'ORDER_FAIL']);

export interface RefundPolicy {
  /**
   * A refund on a CANCELLED, REJECTED or ORDER_FAIL order. D-Store's page does not say whether it takes one (the
   * buyer may already be refunded by D-Store for the cancellation), so the default refuses it (REFUND_ON_CANCELLED).
   */
  onCancelled: 'refuse' | 'allow';
}

export const CHANGE_REFUSALS = {
  ORDER_CLOSED: 'the order is closed: nothing left for the buyer to collect or wait for',
  NOT_MERCHANT_DELIVERY: 'a delivery status applies only to a DELIVERY order the merchant delivers',
  REFUND_CURRENCY: 'a refund must be in the currency the order was paid in',
  REFUND_EXCEEDS_PAID: 'a refund may not exceed what was paid minus earlier refunds',
  REFUND_ON_CANCELLED:
    'a refund on a CANCELLED, REJECTED or ORDER_FAIL order is refused by configuration',
  TOO_MANY_REFUNDS: `an order takes at most ${REFUNDS_MAX} refunds`,
} as const;

export type ChangeRefusal = keyof typeof CHANGE_REFUSALS;

export interface PosChange {
  kind: PosChangeKind;
  /** Exactly the field of `kind`. */
  change: OrderChangeView;
  requestedBy?: string;
  reason?: string;
  ref: string;
  now: number;
}

export type ChangeResult =
  | { outcome: 'APPLIED'; order: OrderRecord; notification: NotificationRecord }
  | { outcome: 'DUPLICATE'; order: OrderRecord }
  | { outcome: 'REFUSED'; order: OrderRecord; reason: ChangeRefusal; message: string };

/** What the buyer paid: createOrder's orderAmount. */
export function paidOf(order: OrderRecord): AmountView {
  const { value, currency } = order.details.orderAmount;
  return { value, currency };
}

/** What the merchant refunded so far (in the paid currency: a refund in another one is never applied). */
export function refundedOf(order: OrderRecord): AmountView {
  const paid = paidOf(order);
  return {
    value: (order.refunds ?? []).reduce((sum, r) => sum + r.amount.value, 0),
    currency: paid.currency,
  };
}

/** True when this event (eventId or stream sequence) was already applied, refunds remembered for the order's life. */
export function isAppliedChangeRef(order: OrderRecord, ref: string): boolean {
  return order.eventRefs.includes(ref) || (order.refunds ?? []).some((r) => r.ref === ref);
}

export function applyChange(
  order: OrderRecord,
  input: PosChange,
  policy: RefundPolicy,
): ChangeResult {
  if (isDuplicate(order, input.change)) return { outcome: 'DUPLICATE', order };
  const refusal = refusalOf(order, input, policy);
  if (refusal) {
    const entry = changeEntry(input, 'REFUSED', refusal.message);
    return {
      outcome: 'REFUSED',
      reason: refusal.reason,
      message: refusal.message,
      order: withChange(order, entry),
    };
  }
  const seq = order.notifications.length + 1;
  const notification: NotificationRecord = {
    requestId: notificationRequestId(order.requestOrderId, seq),
    seq,
    change: input.change,
    createdAtMs: input.now,
    delivery: newDelivery(input.now),
  };
  const { shortOrderNumber, readyTime, deliveryStatus, refundAmount } = input.change;
  let next: OrderRecord = {
    ...withChange(order, changeEntry(input, 'APPLIED')),
    updatedAtMs: input.now,
    notifications: [...order.notifications, notification],
    ...(shortOrderNumber === undefined ? {} : { shortOrderNumber }),
    ...(readyTime === undefined ? {} : { readyTime }),
    ...(deliveryStatus === undefined ? {} : { deliveryStatus }),
  };
  if (refundAmount) {
    const refund: RefundEntry = {
      amount: refundAmount,
      requestedBy: input.requestedBy ?? 'unknown',
      ...(input.reason === undefined ? {} : { reason: input.reason }),
      atMs: input.now,
      ref: input.ref,
      requestId: notification.requestId,
    };
    next = { ...next, refunds: [...(order.refunds ?? []), refund] };
  }
  return { outcome: 'APPLIED', order: next, notification };
}

/** The same pickup code, ready time or delivery status again changes nothing; a refund is never a repeat by value. */
function isDuplicate(order: OrderRecord, change: OrderChangeView): boolean {
  if (change.shortOrderNumber !== undefined)
    return change.shortOrderNumber === order.shortOrderNumber;
  if (change.readyTime !== undefined)
    return (
      order.readyTime !== undefined && Date.parse(change.readyTime) === Date.parse(order.readyTime)
    );
  if (change.deliveryStatus !== undefined) return change.deliveryStatus === order.deliveryStatus;
  return false;
}

function refusalOf(
  order: OrderRecord,
  input: PosChange,
  policy: RefundPolicy,
): { reason: ChangeRefusal; message: string } | undefined {
  const refuse = (reason: ChangeRefusal, detail: string) => ({
    reason,
    message: `${reason}: ${detail}`,
  });
  const failed = FAILED.has(order.status);
  const { refundAmount, deliveryStatus } = input.change;
  if (refundAmount) {
    if (failed && policy.onCancelled === 'refuse')
      return refuse('REFUND_ON_CANCELLED', `the order is ${order.status}`);
    const paid = paidOf(order);
    if (refundAmount.currency !== paid.currency)
      return refuse(
        'REFUND_CURRENCY',
        `the refund is in ${refundAmount.currency}; the order was paid in ${paid.currency}`,
      );
    const left = paid.value - refundedOf(order).value;
    if (refundAmount.value > left)
      return refuse(
        'REFUND_EXCEEDS_PAID',
        `${refundAmount.value} ${paid.currency} is more than is left to refund (${left} of ${paid.value} paid)`,
      );
    if ((order.refunds ?? []).length >= REFUNDS_MAX)
      return refuse('TOO_MANY_REFUNDS', `the order already has ${REFUNDS_MAX} refunds`);
    return undefined;
  }
  if (deliveryStatus !== undefined) {
    if (order.details.serviceType !== 'DELIVERY')
      return refuse(
        'NOT_MERCHANT_DELIVERY',
        `the order's serviceType is ${order.details.serviceType}`,
      );
    if (failed) return refuse('ORDER_CLOSED', `the order is ${order.status}`);
    return undefined;
  }
  // A pickup code or a ready time matters only while the buyer still waits for the order.
  if (failed || order.status === 'COMPLETED')
    return refuse('ORDER_CLOSED', `the order is ${order.status}`);
  return undefined;
}

function changeEntry(
  input: PosChange,
  outcome: ChangeEntry['outcome'],
  reason?: string,
): ChangeEntry {
  return {
    kind: input.kind,
    outcome,
    ...(reason === undefined ? {} : { reason }),
    change: input.change,
    ...(input.requestedBy === undefined ? {} : { requestedBy: input.requestedBy }),
    atMs: input.now,
    ref: input.ref,
  };
}

function withChange(order: OrderRecord, entry: ChangeEntry): OrderRecord {
  return { ...order, changes: bounded([...(order.changes ?? []), entry], ORDER_LIMITS.changes) };
}
