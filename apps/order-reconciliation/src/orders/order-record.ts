import { createHash } from 'node:crypto';
import type {
  AmountView,
  OrderChangeView,
  OrderDetailsView,
  PosChangeKind,
  StuckReason,
} from '@tillbus/contracts';
import { canonicalJson } from '@tillbus/messaging';
import type {
  CreateOrderRequest,
  DStoreCustomer,
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
} from '@tillbus/result-codes';
import { orderDigest } from './order-key';
import type { PushRecord } from './order-push';

/**
 * One D-Store order as stored in KV under its order token: the truth the POS provider answers inquiries from, and
 * its outbox. A status change and the notification D-Store must get for it are written in the same KV update, so
 * no crash can separate "stored" from "queued for notification". Everything here is pure.
 */
export const ORDER_RECORD_VERSION = 1;

/**
 * Bounds on the lists an order carries, so a record never grows without limit. D-Store's pushes are not among them:
 * every push requestId is remembered for the order's life (PUSHES_MAX in order-push.ts bounds them instead).
 */
export const ORDER_LIMITS = { history: 50, refused: 20, eventRefs: 50, changes: 50 } as const;

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

export interface RefundEntry {
  amount: AmountView;
  /** The operator or POS identity that asked for it (the event's validated requestedBy). */
  requestedBy: string;
  reason?: string;
  atMs: number;
  /** POS eventId or `seq:<stream sequence>`: a redelivered refund event is never a second refund. */
  ref: string;
  /** The notifyOrderChange that tells D-Store. */
  requestId: string;
}

export interface ChangeEntry {
  kind: PosChangeKind;
  outcome: 'APPLIED' | 'REFUSED';
  reason?: string;
  change: OrderChangeView;
  requestedBy?: string;
  atMs: number;
  ref: string;
}

export interface NotificationRecord {
  /** The idempotency key D-Store dedups on: the same change is always resent with the same id. */
  requestId: string;
  /** 1-based position in the order's notification queue: D-Store never sees seq n+1 before seq n is settled. */
  seq: number;
  /** Absent on a notification that carries only a change (short order number, ready time, refund, delivery). */
  orderStatus?: NotifyOrderChangeStatus;
  /** What it carries besides a status: exactly one change, never a field D-Store does not document. */
  change?: OrderChangeView;
  createdAtMs: number;
  delivery: DeliveryState;
  /** An attempt is in flight until this time; another replica waits instead of sending the same request. */
  leaseUntilMs?: number;
  /** Not sent because D-Store itself changed the order afterwards (pushOrderChange). */
  skipped?: { reason: string; atMs: number };
}

/**
 * The order as createOrder gave it: every field but requestOrderId, verbatim, including fields no table of ours
 * declares. orderChannel and serviceType may hold a value D-Store added after us (kept as sent).
 */
export interface OrderDetails extends OrderDetailsView {
  orderChannel: OrderChannel | (string & {});
  serviceType: ServiceType | (string & {});
  orderProducts: OrderProduct[];
  customer?: DStoreCustomer;
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
  /** The latest delivery status: D-Store's push (its own code, kept as sent) or the POS's, merchant delivery. */
  deliveryStatus?: string;
  /** The code the buyer shows at the counter, as the POS set it. */
  shortOrderNumber?: string;
  /** The order ready time the POS set last (ISO 8601). */
  readyTime?: string;
  /** Refunds the merchant started, every one (REFUNDS_MAX bounds them); absent on records stored before refunds. */
  refunds?: RefundEntry[];
  /** The latest POS changes but status changes, applied or refused. */
  changes?: ChangeEntry[];
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

/** Everything createOrder carried but its id, as D-Store sent it. */
export function detailsOf(request: CreateOrderRequest): OrderDetails {
  const { requestOrderId: _id, ...details } = request as CreateOrderRequest &
    Record<string, unknown>;
  return details as OrderDetails;
}

/** The fields create_order documents: a retry must repeat them; fields D-Store adds later may differ. */
const FINGERPRINTED = [
  'orderChannel',
  'serviceType',
  'posAccountId',
  'posStoreId',
  'channelOrderId',
  'expectFulfillmentTime',
  'customer',
  'orderProducts',
  'orderAmount',
] as const;

/** The same order content always gives the same fingerprint, whatever the key order of its JSON. */
export function fingerprintOf(requestOrderId: string, details: OrderDetails): string {
  const documented: Record<string, unknown> = { requestOrderId };
  for (const field of FINGERPRINTED)
    if (details[field] !== undefined) documented[field] = details[field];
  return createHash('sha256').update(canonicalJson(documented)).digest('hex');
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
    // Only statuses go stale: a refund, a pickup code or a ready time still has to reach D-Store.
    notifications = notifications.map((n) =>
      isSettled(n) || n.orderStatus === undefined
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

export function bounded<T>(items: T[], max: number): T[] {
  return items.length > max ? items.slice(items.length - max) : items;
}
