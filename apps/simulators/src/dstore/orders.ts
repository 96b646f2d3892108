import {
  dstoreDeliveryOrder,
  dstoreDeliveryPush,
  dstoreItemEditPush,
  dstorePickupOrder,
} from '@tillbus/protocols-antom';

/**
 * What the simulated D-Store sends: full documented orders and pushes (dstore-samples.ts, from D-Store's own field
 * tables), and, with the `unseenFields` fault, fields no version of tillbus has seen, on every message.
 */

/** A name no table of D-Store's (and so no schema of ours) has: proves a reader keeps what it does not know. */
export const UNSEEN_FIELD_PREFIX = 'simUnseen';

/**
 * Adds never-seen fields to a message, at the top and inside every object member one level down (customer,
 * orderAmount, refundInfo, ...). Deterministic, so a retry or a duplicate copy is byte-for-byte the same message.
 */
export function withUnseenFields(message: unknown): unknown {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return message;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(message)) {
    out[key] =
      value !== null && typeof value === 'object' && !Array.isArray(value)
        ? { ...value, [`${UNSEEN_FIELD_PREFIX}Nested`]: 'kept?' }
        : value;
  }
  return {
    ...out,
    [`${UNSEEN_FIELD_PREFIX}Flag`]: true,
    [`${UNSEEN_FIELD_PREFIX}Object`]: { version: 2, tags: ['new'], note: null },
  };
}

export type SampleOrderKind = 'DELIVERY' | 'PICKUP';

/** A createOrder with every documented field: DELIVERY with customer and address, PICKUP without a customer. */
export function sampleOrder(requestOrderId: string, kind: SampleOrderKind = 'DELIVERY') {
  return kind === 'PICKUP'
    ? dstorePickupOrder(requestOrderId)
    : dstoreDeliveryOrder(requestOrderId);
}

export { dstoreDeliveryPush as deliveryOnlyPush, dstoreItemEditPush as itemEditPush };

/** What the buyer sees on D-Store's order page, from the notifications D-Store applied. */
export interface BuyerView {
  orderStatus?: string;
  /** The code the buyer shows at the counter. */
  shortOrderNumber?: string;
  deliveryStatus?: string;
  /** When the order will be ready (notifyOrderChange's ready time field, READY_TIME_FIELD). */
  readyTime?: string;
  /** What the order was paid (from the createOrder D-Store sent). */
  paid?: { value: number; currency: string };
  /** Refunded so far, over every refund the merchant started. */
  refunded?: { value: number; currency: string };
  refunds: number;
}

export interface BuyerChange {
  requestOrderId: string;
  shortOrderNumber?: string;
  orderStatus?: string;
  deliveryStatus?: string;
  refundAmount?: { value: number; currency: string };
  orderReadyTime?: string;
}

/** The buyer views of every order, as a strict D-Store keeps them. */
export class BuyerViews {
  private readonly views = new Map<string, BuyerView>();

  /** D-Store sent this order: the buyer paid its orderAmount. */
  ordered(body: unknown): void {
    const order = body as { requestOrderId?: unknown; orderAmount?: unknown } | null;
    const amount = order?.orderAmount as { value?: unknown; currency?: unknown } | undefined;
    if (
      typeof order?.requestOrderId !== 'string' ||
      typeof amount?.value !== 'number' ||
      typeof amount.currency !== 'string'
    )
      return;
    this.view(order.requestOrderId).paid = { value: amount.value, currency: amount.currency };
  }

  /** Why D-Store would refuse this change, or undefined: a refund beyond what was paid minus earlier refunds. */
  refusal(change: BuyerChange): string | undefined {
    if (!change.refundAmount) return undefined;
    const view = this.views.get(change.requestOrderId);
    if (!view?.paid) return undefined;
    if (change.refundAmount.currency !== view.paid.currency)
      return `refundAmount is in ${change.refundAmount.currency}; the order was paid in ${view.paid.currency}`;
    const left = view.paid.value - (view.refunded?.value ?? 0);
    return change.refundAmount.value > left
      ? `refundAmount ${change.refundAmount.value} exceeds what is left to refund (${left})`
      : undefined;
  }

  apply(change: BuyerChange): void {
    const view = this.view(change.requestOrderId);
    if (change.orderStatus !== undefined) view.orderStatus = change.orderStatus;
    if (change.shortOrderNumber !== undefined) view.shortOrderNumber = change.shortOrderNumber;
    if (change.deliveryStatus !== undefined) view.deliveryStatus = change.deliveryStatus;
    if (change.orderReadyTime !== undefined) view.readyTime = change.orderReadyTime;
    if (change.refundAmount) {
      view.refunds++;
      view.refunded = {
        value: (view.refunded?.value ?? 0) + change.refundAmount.value,
        currency: change.refundAmount.currency,
      };
    }
  }

  get(requestOrderId: string): BuyerView | undefined {
    return this.views.get(requestOrderId);
  }

  all(): Record<string, BuyerView> {
    return Object.fromEntries(this.views);
  }

  clear(): void {
    this.views.clear();
  }

  private view(requestOrderId: string): BuyerView {
    let view = this.views.get(requestOrderId);
    if (!view) {
      view = { refunds: 0 };
      this.views.set(requestOrderId, view);
    }
    return view;
  }
}
