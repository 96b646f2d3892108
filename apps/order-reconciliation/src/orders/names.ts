import { deadLetterSubject, STREAMS } from '@tillbus/contracts';
import { BUCKETS, DURABLES } from '@tillbus/messaging';

/** Orders, keyed by order token (orderSubjectToken): the truth and the outbox. */
export const ORDERS_BUCKET = BUCKETS.orderReconciliation.orders;
/** Signatures already accepted, shared by every replica; entries expire with the signature window. */
export const REPLAY_BUCKET = BUCKETS.orderReconciliation.replay;

/** Applies the POS lifecycle events to the orders. */
export const LIFECYCLE_CONSUMER = DURABLES.orderLifecycle;
/** Delivers notifyOrderChange to D-Store. */
export const OUTBOX_CONSUMER = DURABLES.orderOutbox;

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
export const OUTBOX_FILTER = `tillbus.events.orders.${OWN_EVENT_KINDS.notify}.>`;
export const OUTBOX_DEAD_LETTERS = deadLetterSubject(STREAMS.orders, OUTBOX_CONSUMER);
