import { describe, expect, it } from 'vitest';
import { DSTORE_ORDER_STATUS_NAMES, type DStoreOrderStatus } from './antom';
import type { Transition } from './machine';
import {
  isPosLifecycleKind,
  ORDER_JOURNEY_NEXT,
  orderJourneyTransition,
  POS_LIFECYCLE_KINDS,
} from './order-journey';

// Written out by hand from protocols.md §3 so the table in the code is checked, not restated.
const allowed: Array<[DStoreOrderStatus, DStoreOrderStatus]> = [
  ['ORDER_SUCCESS', 'ACCEPTED'],
  ['ORDER_SUCCESS', 'PREPARING'],
  ['ORDER_SUCCESS', 'READY'],
  ['ORDER_SUCCESS', 'COMPLETED'],
  ['ORDER_SUCCESS', 'REJECTED'],
  ['ORDER_SUCCESS', 'CANCELLED'],
  ['ORDER_SUCCESS', 'ORDER_FAIL'],
  ['ACCEPTED', 'PREPARING'],
  ['ACCEPTED', 'READY'],
  ['ACCEPTED', 'COMPLETED'],
  ['ACCEPTED', 'REJECTED'],
  ['ACCEPTED', 'CANCELLED'],
  ['ACCEPTED', 'ORDER_FAIL'],
  ['PREPARING', 'READY'],
  ['PREPARING', 'COMPLETED'],
  ['PREPARING', 'REJECTED'],
  ['PREPARING', 'CANCELLED'],
  ['PREPARING', 'ORDER_FAIL'],
  ['READY', 'COMPLETED'],
  ['READY', 'REJECTED'],
  ['READY', 'CANCELLED'],
  ['READY', 'ORDER_FAIL'],
  ['COMPLETED', 'CANCELLED'],
];

const finals: DStoreOrderStatus[] = ['COMPLETED', 'CANCELLED', 'REJECTED', 'ORDER_FAIL'];
const key = (from: string, to: string) => `${from}->${to}`;
const allowedKeys = new Set(allowed.map(([from, to]) => key(from, to)));
const allPairs = DSTORE_ORDER_STATUS_NAMES.flatMap((from) =>
  DSTORE_ORDER_STATUS_NAMES.map((to) => [from, to] as const),
);
const forbidden = allPairs.filter(([from, to]) => from !== to && !allowedKeys.has(key(from, to)));

describe('orderJourneyTransition', () => {
  it('covers all 64 pairs: 8 duplicates, 23 allowed, 33 refused', () => {
    expect(allPairs).toHaveLength(64);
    expect(allowed).toHaveLength(23);
    expect(forbidden).toHaveLength(33);
  });

  it('has a table that lists exactly the allowed moves', () => {
    const fromTable = DSTORE_ORDER_STATUS_NAMES.flatMap((from) =>
      ORDER_JOURNEY_NEXT[from].map((to) => key(from, to)),
    );
    expect(new Set(fromTable)).toEqual(allowedKeys);
  });

  it.each(allowed)('%s -> %s advances', (from, to) => {
    expect(orderJourneyTransition(from, to)).toEqual({ ok: true, state: to, change: 'ADVANCED' });
  });

  it.each(forbidden)('%s -> %s is refused and keeps the state', (from, to) => {
    const expectedReason = finals.includes(from) ? 'FROM_FINAL' : 'REGRESSION';
    expect(orderJourneyTransition(from, to)).toEqual({
      ok: false,
      state: from,
      reason: expectedReason,
    });
  });

  it.each(DSTORE_ORDER_STATUS_NAMES)(
    '%s reported again is a harmless duplicate, not a refusal',
    (status) => {
      expect(orderJourneyTransition(status, status)).toEqual({
        ok: true,
        state: status,
        change: 'DUPLICATE',
      });
    },
  );

  it('names the concrete regressions the brief calls out', () => {
    expect(orderJourneyTransition('READY', 'ACCEPTED')).toMatchObject({
      ok: false,
      reason: 'REGRESSION',
    });
    expect(orderJourneyTransition('ACCEPTED', 'ORDER_SUCCESS')).toMatchObject({
      ok: false,
      reason: 'REGRESSION',
    });
    expect(orderJourneyTransition('COMPLETED', 'READY')).toMatchObject({
      ok: false,
      reason: 'FROM_FINAL',
    });
    expect(orderJourneyTransition('CANCELLED', 'COMPLETED')).toMatchObject({
      ok: false,
      reason: 'FROM_FINAL',
    });
  });

  it('fits the shared machine shape', () => {
    const asShared: Transition<DStoreOrderStatus> = orderJourneyTransition('READY', 'PREPARING');
    expect(asShared).toEqual({ ok: false, state: 'READY', reason: 'REGRESSION' });
  });
});

describe('POS lifecycle kinds', () => {
  it('name the statuses a POS may report, each a step forward from a new order', () => {
    expect(POS_LIFECYCLE_KINDS).toEqual({
      accepted: 'ACCEPTED',
      preparing: 'PREPARING',
      ready: 'READY',
      completed: 'COMPLETED',
      rejected: 'REJECTED',
      cancelled: 'CANCELLED',
      failed: 'ORDER_FAIL',
    });
    for (const status of Object.values(POS_LIFECYCLE_KINDS))
      expect(ORDER_JOURNEY_NEXT.ORDER_SUCCESS).toContain(status);
  });

  it.each(['created', 'notify', 'ACCEPTED', 'constructor', 'toString', '__proto__', ''])(
    'are own lower-case keys only: %j is not one',
    (kind) => {
      expect(isPosLifecycleKind(kind)).toBe(false);
    },
  );
});
