import { createHash } from 'node:crypto';
import { canonicalJson, type OrderDetailsView, type StuckReason } from '@tillbus/messaging';
import type {
  AntomAmount,
  CreateOrderRequest,
  ExtendInfo,
  OrderChannel,
  OrderProduct,
  ServiceType,
} from '@tillbus/protocols-antom';
import {
  DSTORE_ORDER_STATUSES,
  isNotifyOrderChangeStatus,
  newDelivery,
  orderJourneyTransition,
  type DeliveryState,
  type DStoreOrderStatus,
  type NotifyOrderChangeStatus,
  type OrderJourneyRefusal,
  type PushOrderChangeStatus,
} from '@tillbus/result-codes';
import { orderDigest } from './order-key';

/**
 * One D-Store order as stored in KV under its order token: the truth the POS provider answers inquiries from, and
 * its outbox. A status change and the notification D-Store must get for it are written in the same KV update, so
 * no crash can separate "stored" from "queued for notification". Everything here is pure.
 */
export const ORDER_RECORD_VERSION = 1;

/** Bounds on the lists an order carries, so a record never grows without limit. */
export const ORDER_LIMITS = { history: 50, refused: 20, pushes: 20, eventRefs: 50 } as const;

/** Who reported a status: D-Store (createOrder, pushOrderChange) or the POS (lifecycle events). */
export type OrderSource = 'dstore' | 'pos';

export interface HistoryEntry {
  status: DStoreOrderStatus;
  source: OrderSource;
  atMs: number;
  /** pushOrderChange requestId, POS eventId or `seq:<stream sequence>`. */
  ref?: string;
}

export interface RefusedEntry {
  reported: DStoreOrderStatus;
  /** The status the order had (and kept). */
  current: DStoreOrderStatus;
  reason: OrderJourneyRefusal;
  source: OrderSource;
  atMs: number;
  ref?: string;
}

export type PushOutcome = 'APPLIED' | 'DUPLICATE' | 'REFUSED';

export interface PushRecord {
  requestId: string;
  orderStatus: PushOrderChangeStatus;
  outcome: PushOutcome;
  atMs: number;
}

export interface NotificationRecord {
  /** The idempotency key D-Store dedups on: the same change is always resent with the same id. */
  requestId: string;
  /** 1-based position in the order's notification queue: D-Store never sees seq n+1 before seq n is settled. */
  seq: number;
  orderStatus: NotifyOrderChangeStatus;
  createdAtMs: number;
  delivery: DeliveryState;
  /** An attempt is in flight until this time; another replica waits instead of sending the same request. */
  leaseUntilMs?: number;
  /** Not sent because D-Store itself changed the order afterwards (pushOrderChange). */
  skipped?: { reason: string; atMs: number };
}

/** The order as stored: the bus view's shape, with D-Store's enums typed. */
export interface OrderDetails extends OrderDetailsView {
  orderChannel: OrderChannel;
  serviceType: ServiceType;
  orderProducts: OrderProduct[];
}

export interface OrderRecord {
  v: typeof ORDER_RECORD_VERSION;
  requestOrderId: string;
  posOrderId: string;
  status: DStoreOrderStatus;
  createdAtMs: number;
  updatedAtMs: number;
  details: OrderDetails;
  /** SHA-256 of the canonical createOrder content: a retry must match it. */
  fingerprint: string;
  /** The latest extendInfo the POS reported; returned by inquireOrderDetail. */
  extendInfo?: ExtendInfo;
  history: HistoryEntry[];
  refused: RefusedEntry[];
  pushes: PushRecord[];
  /** Lifecycle events already applied, so a redelivered event is a duplicate and never a refusal. */
  eventRefs: string[];
  notifications: NotificationRecord[];
}

/** The POS order id tillbus assigns at createOrder: stable for the order, derived from its D-Store id. */
export function posOrderIdFor(requestOrderId: string): string {
  return `tb-${orderDigest(requestOrderId)}`;
}

/** `ntf-<order digest>-<seq>`: stable, at most 32 characters, unique per order and position. */
export function notificationRequestId(requestOrderId: string, seq: number): string {
  return `ntf-${orderDigest(requestOrderId)}-${seq}`;
}

export function detailsOf(request: CreateOrderRequest): OrderDetails {
  const amount: AntomAmount = request.orderAmount;
  return {
    orderChannel: request.orderChannel,
    serviceType: request.serviceType,
    posAccountId: request.posAccountId,
    posStoreId: request.posStoreId,
    channelOrderId: request.channelOrderId,
    orderProducts: request.orderProducts,
    orderAmount: { value: amount.value, currency: amount.currency },
  };
}

/** The same order content always gives the same fingerprint, whatever the key order of its JSON. */
export function fingerprintOf(requestOrderId: string, details: OrderDetails): string {
  return createHash('sha256')
    .update(canonicalJson({ requestOrderId, ...details }))
    .digest('hex');
}

/** A new order: the POS has it, so its status is ORDER_SUCCESS. */
export function newOrderRecord(request: CreateOrderRequest, now: number): OrderRecord {
  const details = detailsOf(request);
  return {
    v: ORDER_RECORD_VERSION,
    requestOrderId: request.requestOrderId,
    posOrderId: posOrderIdFor(request.requestOrderId),
    status: 'ORDER_SUCCESS',
    createdAtMs: now,
    updatedAtMs: now,
    details,
    fingerprint: fingerprintOf(request.requestOrderId, details),
    history: [{ status: 'ORDER_SUCCESS', source: 'dstore', atMs: now }],
    refused: [],
    pushes: [],
    eventRefs: [],
    notifications: [],
  };
}

export interface Report {
  reported: DStoreOrderStatus;
  source: OrderSource;
  now: number;
  ref?: string;
  extendInfo?: ExtendInfo;
}

export type ReportResult =
  | { outcome: 'ADVANCED'; order: OrderRecord; notification?: NotificationRecord }
  | { outcome: 'DUPLICATE'; order: OrderRecord }
  | { outcome: 'REFUSED'; order: OrderRecord; reason: OrderJourneyRefusal };

/**
 * Applies a reported status through the order journey. ADVANCED records history and, for a POS change D-Store must
 * learn, queues a notification in the same record. A change D-Store made itself skips notifications not yet sent,
 * since they would only tell D-Store an older state. REFUSED keeps the status and records the refusal.
 */
export function applyReport(order: OrderRecord, report: Report): ReportResult {
  const transition = orderJourneyTransition(order.status, report.reported);
  if (transition.ok && transition.change === 'DUPLICATE') return { outcome: 'DUPLICATE', order };
  if (!transition.ok) {
    const refused: RefusedEntry = {
      reported: report.reported,
      current: order.status,
      reason: transition.reason,
      source: report.source,
      atMs: report.now,
      ...(report.ref === undefined ? {} : { ref: report.ref }),
    };
    return {
      outcome: 'REFUSED',
      reason: transition.reason,
      order: { ...order, refused: bounded([...order.refused, refused], ORDER_LIMITS.refused) },
    };
  }
  const entry: HistoryEntry = {
    status: transition.state,
    source: report.source,
    atMs: report.now,
    ...(report.ref === undefined ? {} : { ref: report.ref }),
  };
  let notifications = order.notifications;
  let notification: NotificationRecord | undefined;
  if (report.source === 'dstore') {
    notifications = notifications.map((n) =>
      isSettled(n)
        ? n
        : {
            ...n,
            leaseUntilMs: undefined,
            skipped: {
              reason: `D-Store itself moved the order to ${transition.state}`,
              atMs: report.now,
            },
          },
    );
  } else if (isNotifyOrderChangeStatus(transition.state)) {
    const seq = notifications.length + 1;
    notification = {
      requestId: notificationRequestId(order.requestOrderId, seq),
      seq,
      orderStatus: transition.state,
      createdAtMs: report.now,
      delivery: newDelivery(report.now),
    };
    notifications = [...notifications, notification];
  }
  const next: OrderRecord = {
    ...order,
    status: transition.state,
    updatedAtMs: report.now,
    history: bounded([...order.history, entry], ORDER_LIMITS.history),
    notifications,
    ...(report.extendInfo === undefined ? {} : { extendInfo: report.extendInfo }),
  };
  return notification
    ? { outcome: 'ADVANCED', order: next, notification }
    : { outcome: 'ADVANCED', order: next };
}

export function withEventRef(order: OrderRecord, ref: string): OrderRecord {
  return { ...order, eventRefs: bounded([...order.eventRefs, ref], ORDER_LIMITS.eventRefs) };
}

export function withPush(order: OrderRecord, push: PushRecord): OrderRecord {
  return { ...order, pushes: bounded([...order.pushes, push], ORDER_LIMITS.pushes) };
}

const SETTLED: ReadonlySet<DeliveryState['status']> = new Set([
  'delivered',
  'failed_final',
  'dead_letter',
]);

/** Nothing more will be sent for this notification without an operator's redeliver. */
export function isSettled(notification: NotificationRecord): boolean {
  return notification.skipped !== undefined || SETTLED.has(notification.delivery.status);
}

/** D-Store has not (knowingly) got it: queued, retrying, failed or dead-lettered. */
export function isUndelivered(notification: NotificationRecord): boolean {
  return notification.skipped === undefined && notification.delivery.status !== 'delivered';
}

/** The notification the outbox must deal with next: the earliest one not settled. */
export function deliveryHead(order: OrderRecord): NotificationRecord | undefined {
  let head: NotificationRecord | undefined;
  for (const n of order.notifications) {
    if (!isSettled(n) && (head === undefined || n.seq < head.seq)) head = n;
  }
  return head;
}

export function isFinalStatus(status: DStoreOrderStatus): boolean {
  return DSTORE_ORDER_STATUSES[status].final;
}

/** Replaces one notification (by requestId) in a copy of the order. */
export function withNotification(
  order: OrderRecord,
  requestId: string,
  change: (n: NotificationRecord) => NotificationRecord,
): OrderRecord {
  return {
    ...order,
    notifications: order.notifications.map((n) => (n.requestId === requestId ? change(n) : n)),
  };
}

/**
 * Why an order needs a look: NOT_FINAL when it is not final and was created `olderThanMs` ago or more; UNDELIVERED
 * when a notification failed for good (failed_final, dead_letter: any age) or is still queued or retrying
 * `olderThanMs` after it was created.
 */
export function stuckReasons(order: OrderRecord, now: number, olderThanMs: number): StuckReason[] {
  const reasons: StuckReason[] = [];
  if (!isFinalStatus(order.status) && now - order.createdAtMs >= olderThanMs)
    reasons.push('NOT_FINAL');
  const undelivered = order.notifications.some(
    (n) =>
      isUndelivered(n) &&
      (n.delivery.status === 'failed_final' ||
        n.delivery.status === 'dead_letter' ||
        now - n.createdAtMs >= olderThanMs),
  );
  if (undelivered) reasons.push('UNDELIVERED');
  return reasons;
}

function bounded<T>(items: T[], max: number): T[] {
  return items.length > max ? items.slice(items.length - max) : items;
}
