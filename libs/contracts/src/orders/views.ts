import type { DeliveryFailure } from '@tillbus/result-codes';

/**
 * `<kind>` in `tillbus.events.orders.<kind>.<orderToken>` for what the POS tells D-Store besides a status: each is
 * applied to the order and turned into one notifyOrderChange carrying only that change.
 */
export const POS_CHANGE_KINDS = {
  /** The code the buyer shows at the counter: notifyOrderChange `shortOrderNumber`. */
  'short-order-number': 'shortOrderNumber',
  /** The order ready time, set or moved: notifyOrderChange's ready time field (READY_TIME_FIELD). */
  'ready-time': 'readyTime',
  /** A full or partial refund the merchant starts: notifyOrderChange `refundAmount`. */
  refund: 'refundAmount',
  /** Delivery progress of an order the merchant delivers itself: notifyOrderChange `deliveryStatus`. */
  'delivery-status': 'deliveryStatus',
} as const;

export type PosChangeKind = keyof typeof POS_CHANGE_KINDS;

/** Own keys only: `constructor` or `toString` are not kinds. */
export function isPosChangeKind(kind: string): kind is PosChangeKind {
  return Object.prototype.hasOwnProperty.call(POS_CHANGE_KINDS, kind);
}

/** An amount in the currency's smallest unit (D-Store's Amount). */
export interface AmountView {
  value: number;
  currency: string;
}

/** What one notifyOrderChange tells D-Store besides a status: only what changed. */
export interface OrderChangeView {
  shortOrderNumber?: string;
  /** ISO 8601. */
  readyTime?: string;
  deliveryStatus?: string;
  refundAmount?: AmountView;
}

/** One refund the merchant started, and who asked for it. */
export interface RefundView {
  amount: AmountView;
  requestedBy: string;
  reason?: string;
  at: string;
  ref: string;
  /** The notifyOrderChange that carries it. */
  requestId: string;
}

/** One POS change (short order number, ready time, refund, delivery status), applied or refused. */
export interface PosChangeView {
  kind: PosChangeKind;
  outcome: 'APPLIED' | 'REFUSED';
  /** Why it was refused. */
  reason?: string;
  change: OrderChangeView;
  requestedBy?: string;
  at: string;
  ref: string;
}

/**
 * The D-Store order as createOrder gave it: D-Store's own names and values, every field but requestOrderId, kept
 * verbatim, fields added by D-Store after this contract included.
 */
export interface OrderDetailsView {
  orderChannel: string;
  serviceType: string;
  posAccountId: string;
  posStoreId: string;
  channelOrderId: string;
  /** ISO 8601: the pickup or dine-in time the customer chose (absent only on orders stored before it was kept). */
  expectFulfillmentTime?: string;
  /** Absent when D-Store could not obtain it; holds the delivery address (an AddressDetail). */
  customer?: Record<string, unknown>;
  orderProducts: Record<string, unknown>[];
  orderAmount: { value: number; currency: string };
  [field: string]: unknown;
}

/** One pushOrderChange D-Store sent, remembered by requestId for the order's whole life. */
export interface PushView {
  requestId: string;
  /** As sent; may be a value this version does not know (then it changed nothing). */
  orderStatus?: string;
  /** orderStatus is a value this version does not know: kept as sent, not applied. */
  unrecognisedStatus?: boolean;
  outcome: string;
  reason?: string;
  at: string;
  /** deliveryStatus, updatedOrderProducts, refundInfo, extendInfo and any other field, verbatim. */
  change?: Record<string, unknown>;
}

/** One notifyOrderChange D-Store must receive, and how its delivery goes. */
export interface NotificationView {
  requestId: string;
  seq: number;
  /** Absent when the notification carries no status, only a change. */
  orderStatus?: string;
  /** What it carries besides a status. */
  change?: OrderChangeView;
  deliveryStatus: string;
  attempts: number;
  redeliveries: number;
  createdAt: string;
  updatedAt: string;
  nextAttemptAt?: string;
  lastFailure?: DeliveryFailure;
  skipped?: { reason: string; at: string };
}

/** `tillbus.order-reconciliation.get`: the stored order with times as ISO-8601 text. */
/** D-Store's AddressDetail (data dictionary), as sent: every field optional. */
export interface DeliveryAddressView {
  addressDetail?: string;
  blockNo?: string;
  floorNo?: string;
  unitNo?: string;
  postCode?: string;
  latitude?: string;
  longitude?: string;
  additionalInformation?: string;
}

export interface OrderView {
  requestOrderId: string;
  posOrderId: string;
  status: string;
  final: boolean;
  createdAt: string;
  updatedAt: string;
  order: OrderDetailsView;
  extendInfo?: string | Record<string, unknown>;
  /** The latest delivery status: pushed by D-Store, or reported by the POS for an order the merchant delivers. */
  deliveryStatus?: string;
  /** The code the buyer shows at the counter, as the POS set it. */
  shortOrderNumber?: string;
  /** The order ready time the POS set last (ISO 8601). */
  readyTime?: string;
  /** What the buyer paid (createOrder's orderAmount) and what the merchant refunded of it so far (always sent). */
  paid?: AmountView;
  refunded?: AmountView;
  refunds?: RefundView[];
  /** Every POS change but status changes, applied or refused (the latest ones). */
  changes?: PosChangeView[];
  /** The delivery address found in `order.customer` (D-Store's AddressDetail fields), when there is one. */
  deliveryAddress?: DeliveryAddressView;
  history: Array<{ status: string; source: string; at: string; ref?: string }>;
  refused: Array<{
    reported: string;
    current: string;
    reason: string;
    source: string;
    at: string;
    ref?: string;
  }>;
  pushes: PushView[];
  notifications: NotificationView[];
}

/** NOT_FINAL: not final after `olderThanMs`. UNDELIVERED: a notification failed for good or is late. */
export type StuckReason = 'NOT_FINAL' | 'UNDELIVERED';

export interface StuckOrder {
  requestOrderId: string;
  posOrderId: string;
  status: string;
  createdAt: string;
  updatedAt: string;
  reasons: StuckReason[];
  undelivered: Array<{
    requestId: string;
    orderStatus?: string;
    change?: OrderChangeView;
    deliveryStatus: string;
    attempts: number;
  }>;
}

/** `tillbus.order-reconciliation.stuck`. */
export interface StuckReport {
  olderThanMs: number;
  scanned: number;
  truncated: boolean;
  orders: StuckOrder[];
}

/** `tillbus.order-reconciliation.redeliver`. */
export interface RedeliverResult {
  requestOrderId: string;
  requestId: string;
  orderStatus?: string;
  change?: OrderChangeView;
  deliveryStatus: string;
  /** false when the notification was already queued: its outbox message was published again, nothing else. */
  requeued: boolean;
}
