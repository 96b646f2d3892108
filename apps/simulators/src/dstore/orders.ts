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
