import type { ExtendInfo } from '@tillbus/protocols-antom';
import type { DeliveryFailure } from '@tillbus/result-codes';
import { isFinalStatus, type OrderDetails, type OrderRecord } from './order-record';

/** The reply of `tillbus.order-reconciliation.get`: the stored order with times as ISO-8601 text. */
export interface OrderView {
  requestOrderId: string;
  posOrderId: string;
  status: string;
  final: boolean;
  createdAt: string;
  updatedAt: string;
  order: OrderDetails;
  extendInfo?: ExtendInfo;
  history: Array<{ status: string; source: string; at: string; ref?: string }>;
  refused: Array<{
    reported: string;
    current: string;
    reason: string;
    source: string;
    at: string;
    ref?: string;
  }>;
  pushes: Array<{ requestId: string; orderStatus: string; outcome: string; at: string }>;
  notifications: NotificationView[];
}

export interface NotificationView {
  requestId: string;
  seq: number;
  orderStatus: string;
  deliveryStatus: string;
  attempts: number;
  redeliveries: number;
  createdAt: string;
  updatedAt: string;
  nextAttemptAt?: string;
  lastFailure?: DeliveryFailure;
  skipped?: { reason: string; at: string };
}

const iso = (ms: number) => new Date(ms).toISOString();

export function orderView(order: OrderRecord): OrderView {
  return {
    requestOrderId: order.requestOrderId,
    posOrderId: order.posOrderId,
    status: order.status,
    final: isFinalStatus(order.status),
    createdAt: iso(order.createdAtMs),
    updatedAt: iso(order.updatedAtMs),
    order: order.details,
    ...(order.extendInfo === undefined ? {} : { extendInfo: order.extendInfo }),
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
      orderStatus: p.orderStatus,
      outcome: p.outcome,
      at: iso(p.atMs),
    })),
    notifications: order.notifications.map((n) => {
      const d = n.delivery;
      return {
        requestId: n.requestId,
        seq: n.seq,
        orderStatus: n.orderStatus,
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
