import type { DeliveryFailure } from '@tillbus/result-codes';

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
  /** The latest delivery status D-Store pushed. */
  deliveryStatus?: string;
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
    orderStatus: string;
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
  orderStatus: string;
  deliveryStatus: string;
  /** false when the notification was already queued: its outbox message was published again, nothing else. */
  requeued: boolean;
}
