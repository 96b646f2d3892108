import { DSTORE_ORDER_STATUSES, type DStoreOrderStatus } from './antom';

/**
 * The D-Store order journey. D-Store publishes no rules between non-final statuses, so this enforces the obvious
 * order: ORDER_SUCCESS -> ACCEPTED -> PREPARING -> READY -> COMPLETED (skipping forward allowed); REJECTED,
 * CANCELLED or ORDER_FAIL from any non-final status; COMPLETED -> CANCELLED because a channel may cancel later.
 */
export const ORDER_JOURNEY_NEXT: Record<DStoreOrderStatus, readonly DStoreOrderStatus[]> = {
  ORDER_SUCCESS: [
    'ACCEPTED',
    'PREPARING',
    'READY',
    'COMPLETED',
    'REJECTED',
    'CANCELLED',
    'ORDER_FAIL',
  ],
  ACCEPTED: ['PREPARING', 'READY', 'COMPLETED', 'REJECTED', 'CANCELLED', 'ORDER_FAIL'],
  PREPARING: ['READY', 'COMPLETED', 'REJECTED', 'CANCELLED', 'ORDER_FAIL'],
  READY: ['COMPLETED', 'REJECTED', 'CANCELLED', 'ORDER_FAIL'],
  COMPLETED: ['CANCELLED'],
  CANCELLED: [],
  REJECTED: [],
  ORDER_FAIL: [],
};

/** Why a reported status was refused; the caller keeps a record of every refusal. */
export const ORDER_JOURNEY_REFUSALS = {
  REGRESSION:
    'the status moves the order back along ORDER_SUCCESS -> ACCEPTED -> PREPARING -> READY',
  FROM_FINAL: 'the order is already final; only COMPLETED -> CANCELLED may follow a final status',
} as const;

export type OrderJourneyRefusal = keyof typeof ORDER_JOURNEY_REFUSALS;

/** ADVANCED: the status changed. DUPLICATE: the same status again, a harmless no-op (redelivery, retry). */
export type OrderJourneyChange = 'ADVANCED' | 'DUPLICATE';

/** Assignable to the shared `Transition<DStoreOrderStatus>`, with the refusal kind typed and duplicates marked. */
export type OrderJourneyTransition =
  | { ok: true; state: DStoreOrderStatus; change: OrderJourneyChange }
  | { ok: false; state: DStoreOrderStatus; reason: OrderJourneyRefusal };

/** The event is the status someone reported (POS, pushOrderChange or an inquiry answer). */
export function orderJourneyTransition(
  state: DStoreOrderStatus,
  reported: DStoreOrderStatus,
): OrderJourneyTransition {
  if (reported === state) return { ok: true, state, change: 'DUPLICATE' };
  if (ORDER_JOURNEY_NEXT[state].includes(reported))
    return { ok: true, state: reported, change: 'ADVANCED' };
  return {
    ok: false,
    state,
    reason: DSTORE_ORDER_STATUSES[state].final ? 'FROM_FINAL' : 'REGRESSION',
  };
}

/**
 * `<kind>` in `tillbus.events.orders.<kind>.<orderToken>` for what the POS reports: the lifecycle event name, and the
 * D-Store status it moves the order to.
 */
export const POS_LIFECYCLE_KINDS = {
  accepted: 'ACCEPTED',
  preparing: 'PREPARING',
  ready: 'READY',
  completed: 'COMPLETED',
  rejected: 'REJECTED',
  cancelled: 'CANCELLED',
  failed: 'ORDER_FAIL',
} as const satisfies Record<string, DStoreOrderStatus>;

export type PosLifecycleKind = keyof typeof POS_LIFECYCLE_KINDS;

/** Own keys only: `constructor` or `toString` are not kinds. */
export function isPosLifecycleKind(kind: string): kind is PosLifecycleKind {
  return Object.prototype.hasOwnProperty.call(POS_LIFECYCLE_KINDS, kind);
}
