import { EVENT_SUBJECTS, STREAMS, deadLetterSubject } from '@tillbus/messaging';

/** Orders, keyed by order token (orderSubjectToken): the truth and the outbox. */
export const ORDERS_BUCKET = 'tillbus_order_reconciliation_orders';
/** Signatures already accepted, shared by every replica; entries expire with the signature window. */
export const REPLAY_BUCKET = 'tillbus_order_reconciliation_replay';

/** Applies the POS lifecycle events to the orders. */
export const LIFECYCLE_CONSUMER = 'order-reconciliation-lifecycle';
/** Delivers notifyOrderChange to D-Store. */
export const OUTBOX_CONSUMER = 'order-reconciliation-outbox';

// The POS lifecycle kinds (`<kind>` for what the POS reports) are POS_LIFECYCLE_KINDS in libs/result-codes.

/** `<kind>` values order-reconciliation publishes itself (its lifecycle consumer skips them). */
export const OWN_EVENT_KINDS = {
  /** A new D-Store order, forwarded to the POS once durably stored. */
  created: 'created',
  /** D-Store changed the order (pushOrderChange): COMPLETED, CANCELLED or ORDER_FAIL, forwarded to the POS. */
  channelChanged: 'channel-changed',
  /** The outbox: one message per notifyOrderChange D-Store must receive. */
  notify: 'notify',
} as const;

export type OwnEventKind = (typeof OWN_EVENT_KINDS)[keyof typeof OWN_EVENT_KINDS];

const OWN_KINDS: ReadonlySet<string> = new Set(Object.values(OWN_EVENT_KINDS));

export function isOwnEventKind(kind: string): kind is OwnEventKind {
  return OWN_KINDS.has(kind);
}

export const ORDERS_STREAM = STREAMS.orders;
export const ORDERS_SUBJECTS = EVENT_SUBJECTS.ordersAll;
export const OUTBOX_FILTER = `tillbus.events.orders.${OWN_EVENT_KINDS.notify}.>`;
export const OUTBOX_DEAD_LETTERS = deadLetterSubject(STREAMS.orders, OUTBOX_CONSUMER);
