import type { OrderView } from '@tillbus/contracts';
import { addressesOf } from '@tillbus/protocols-antom';
import { paidOf, refundedOf } from './order-change';
import { isFinalStatus, type OrderRecord } from './order-record';

const iso = (ms: number) => new Date(ms).toISOString();

/** The reply of `tillbus.order-reconciliation.get`: the stored order with times as ISO-8601 text. */
export function orderView(order: OrderRecord): OrderView {
  const deliveryAddress = addressesOf(order.details.customer)[0]?.address;
  return {
    requestOrderId: order.requestOrderId,
    posOrderId: order.posOrderId,
    status: order.status,
    final: isFinalStatus(order.status),
    createdAt: iso(order.createdAtMs),
    updatedAt: iso(order.updatedAtMs),
    order: order.details,
    ...(order.extendInfo === undefined ? {} : { extendInfo: order.extendInfo }),
    ...(order.deliveryStatus === undefined ? {} : { deliveryStatus: order.deliveryStatus }),
    ...(deliveryAddress === undefined ? {} : { deliveryAddress }),
    ...(order.shortOrderNumber === undefined ? {} : { shortOrderNumber: order.shortOrderNumber }),
    ...(order.readyTime === undefined ? {} : { readyTime: order.readyTime }),
    paid: paidOf(order),
    refunded: refundedOf(order),
    refunds: (order.refunds ?? []).map((r) => ({
      amount: r.amount,
      requestedBy: r.requestedBy,
      ...(r.reason === undefined ? {} : { reason: r.reason }),
      at: iso(r.atMs),
      ref: r.ref,
      requestId: r.requestId,
    })),
    changes: (order.changes ?? []).map((c) => ({
      kind: c.kind,
      outcome: c.outcome,
      ...(c.reason === undefined ? {} : { reason: c.reason }),
      change: c.change,
      ...(c.requestedBy === undefined ? {} : { requestedBy: c.requestedBy }),
      at: iso(c.atMs),
      ref: c.ref,
    })),
    history: order.history.map((h) => ({
      status: h.status,
      source: h.source,
      at: iso(h.atMs),
      ...(h.ref === undefined ? {} : { ref: h.ref }),
    })),
    refused: order.refused.map((r) => ({
      reported: r.reported,
      current: r.current,
      reason: r.reason,
      source: r.source,
      at: iso(r.atMs),
      ...(r.ref === undefined ? {} : { ref: r.ref }),
    })),
    pushes: order.pushes.map((p) => ({
      requestId: p.requestId,
      ...(p.orderStatus === undefined ? {} : { orderStatus: p.orderStatus }),
      ...(p.unrecognisedStatus ? { unrecognisedStatus: true } : {}),
      outcome: p.outcome,
      ...(p.reason === undefined ? {} : { reason: p.reason }),
      at: iso(p.atMs),
      ...(p.change === undefined ? {} : { change: p.change }),
    })),
    notifications: order.notifications.map((n) => {
      const d = n.delivery;
      return {
        requestId: n.requestId,
        seq: n.seq,
        ...(n.orderStatus === undefined ? {} : { orderStatus: n.orderStatus }),
        ...(n.change === undefined ? {} : { change: n.change }),
        deliveryStatus: d.status,
        attempts: d.attempts,
        redeliveries: d.redeliveries,
        createdAt: iso(n.createdAtMs),
        updatedAt: iso(d.updatedAtMs),
        ...(d.status === 'retrying' ? { nextAttemptAt: iso(d.nextAttemptAtMs) } : {}),
        ...('lastFailure' in d && d.lastFailure ? { lastFailure: d.lastFailure } : {}),
        ...(n.skipped ? { skipped: { reason: n.skipped.reason, at: iso(n.skipped.atMs) } } : {}),
      };
    }),
  };
}
