import type { NotifyOrderChangeStatus } from '@tillbus/result-codes';
import type { OrderChangeView, OrderDetailsView } from './views';

/*
 * What order-reconciliation publishes on TILLBUS_ORDERS. What the POS publishes there (its lifecycle and change
 * events) is validated on arrival: those DTOs are in ./event-payloads (@tillbus/contracts/dto).
 */

/** `tillbus.events.orders.created.<orderToken>`: a new D-Store order for the POS. */
export interface OrderCreatedEvent {
  requestOrderId: string;
  posOrderId: string;
  createdAt: string;
  order: OrderDetailsView;
}

/**
 * `tillbus.events.orders.channel-changed.<orderToken>`: D-Store changed the order (pushOrderChange). Carries what the
 * push carried, verbatim: any of a status, a delivery status, item edits, a refund, extendInfo and fields D-Store
 * added after us.
 */
export interface OrderChannelChangedEvent {
  requestOrderId: string;
  posOrderId: string;
  requestId: string;
  /** COMPLETED, CANCELLED or ORDER_FAIL; absent when the status did not change. */
  orderStatus?: string;
  deliveryStatus?: string;
  updatedOrderProducts?: Record<string, unknown>[];
  refundInfo?: Record<string, unknown>;
  extendInfo?: string | Record<string, unknown>;
  changedAt: string;
  [field: string]: unknown;
}

/** `tillbus.events.orders.notify.<orderToken>`: the outbox entry for one notifyOrderChange. */
export interface OrderNotifyMessage {
  requestOrderId: string;
  requestId: string;
  /** Absent when the notification carries only a change. */
  orderStatus?: NotifyOrderChangeStatus;
  change?: OrderChangeView;
  seq: number;
}
