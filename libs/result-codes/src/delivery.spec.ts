import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_DELIVERY_POLICY,
  DELIVERY_EVENTS_ACCEPTED,
  DELIVERY_STATUSES,
  deliveryBackoffMs,
  deliveryPolicyProblems,
  deliveryTransition,
  isDeliveryDue,
  newDelivery,
  type DeliveryEvent,
  type DeliveryPolicy,
  type DeliveryState,
  type DeliveryStatus,
} from './delivery';

const policy: DeliveryPolicy = {
  maxAttempts: 3,
  baseDelayMs: 1_000,
  maxDelayMs: 3_000,
  multiplier: 2,
  jitterRatio: 0,
};
const T0 = 1_700_000_000_000;
const failure = { cause: 'NETWORK_ERROR', outcome: 'RETRYABLE' } as const;

const states: Record<DeliveryStatus, DeliveryState> = {
  pending: { status: 'pending', attempts: 0, redeliveries: 0, updatedAtMs: T0 },
  retrying: {
    status: 'retrying',
    attempts: 1,
    redeliveries: 0,
    updatedAtMs: T0,
    nextAttemptAtMs: T0 + 1_000,
    lastFailure: failure,
  },
  delivered: { status: 'delivered', attempts: 1, redeliveries: 0, updatedAtMs: T0 },
  failed_final: {
    status: 'failed_final',
    attempts: 1,
    redeliveries: 0,
    updatedAtMs: T0,
    lastFailure: {
      cause: 'ANSWER',
      outcome: 'CONFIG_ERROR',
      resultStatus: 'F',
      resultCode: 'INVALID_SIGNATURE',
    },
  },
  dead_letter: {
    status: 'dead_letter',
    attempts: 3,
    redeliveries: 0,
    updatedAtMs: T0,
    lastFailure: failure,
  },
};

const now = T0 + 5_000;
const events: Record<DeliveryEvent['type'], DeliveryEvent> = {
  ANSWERED: { type: 'ANSWERED', now, result: { resultStatus: 'S', resultCode: 'SUCCESS' } },
  NO_ANSWER: { type: 'NO_ANSWER', now, cause: 'TIMEOUT' },
  REDELIVER: { type: 'REDELIVER', now },
};

const statusNames = Object.keys(DELIVERY_STATUSES) as DeliveryStatus[];
const eventNames = Object.keys(events) as DeliveryEvent['type'][];
const acceptedPairs: Array<[DeliveryStatus, DeliveryEvent['type']]> = [
  ['pending', 'ANSWERED'],
  ['pending', 'NO_ANSWER'],
  ['retrying', 'ANSWERED'],
  ['retrying', 'NO_ANSWER'],
  ['failed_final', 'REDELIVER'],
  ['dead_letter', 'REDELIVER'],
];
const isAccepted = (s: DeliveryStatus, e: string) =>
  acceptedPairs.some(([as, ae]) => as === s && ae === e);
const refusedPairs = statusNames.flatMap((s) =>
  eventNames.filter((e) => !isAccepted(s, e)).map((e) => [s, e] as const),
);

describe('deliveryTransition: which events each status takes', () => {
  it('has a table matching the hand-written list', () => {
    const fromTable = statusNames.flatMap((s) =>
      DELIVERY_EVENTS_ACCEPTED[s].map((e) => `${s}:${e}`),
    );
    expect(fromTable.sort()).toEqual(acceptedPairs.map(([s, e]) => `${s}:${e}`).sort());
    expect(refusedPairs).toHaveLength(15 - acceptedPairs.length);
  });

  it.each(acceptedPairs)('%s takes %s', (status, type) => {
    expect(deliveryTransition(states[status], events[type], policy).ok).toBe(true);
  });

  it.each(refusedPairs)('%s refuses %s and keeps the state', (status, type) => {
    const reason = type === 'REDELIVER' ? 'NOT_REDELIVERABLE' : 'ALREADY_SETTLED';
    expect(deliveryTransition(states[status], events[type], policy)).toEqual({
      ok: false,
      state: states[status],
      reason,
    });
  });
});

describe('deliveryTransition: where an attempt leads', () => {
  const answered = (resultStatus: string, resultCode: string): DeliveryEvent => ({
    type: 'ANSWERED',
    now,
    result: { resultStatus, resultCode },
  });

  it('S delivers', () => {
    expect(deliveryTransition(states.pending, answered('S', 'SUCCESS'), policy)).toEqual({
      ok: true,
      state: { status: 'delivered', attempts: 1, redeliveries: 0, updatedAtMs: now },
    });
  });

  it.each([
    ['PROCESS_FAIL', 'FAILED'],
    ['PARAM_ILLEGAL', 'FAILED'],
    ['INVALID_API', 'CONFIG_ERROR'],
    ['INVALID_SIGNATURE', 'CONFIG_ERROR'],
    ['ACCESS_DENIED', 'CONFIG_ERROR'],
    ['SOME_NEW_F_CODE', 'FAILED'],
  ])('F %s fails for good with outcome %s', (code, outcome) => {
    expect(deliveryTransition(states.retrying, answered('F', code), policy)).toEqual({
      ok: true,
      state: {
        status: 'failed_final',
        attempts: 2,
        redeliveries: 0,
        updatedAtMs: now,
        lastFailure: { cause: 'ANSWER', outcome, resultStatus: 'F', resultCode: code },
      },
    });
  });

  it.each([
    ['U', 'UNKNOWN_EXCEPTION'],
    ['F', 'REQUEST_TRAFFIC_EXCEED_LIMIT'],
  ])('%s %s schedules a retry with backoff', (status, code) => {
    expect(deliveryTransition(states.pending, answered(status, code), policy)).toEqual({
      ok: true,
      state: {
        status: 'retrying',
        attempts: 1,
        redeliveries: 0,
        updatedAtMs: now,
        nextAttemptAtMs: now + 1_000,
        lastFailure: {
          cause: 'ANSWER',
          outcome: 'RETRYABLE',
          resultStatus: status,
          resultCode: code,
        },
      },
    });
  });

  it.each([
    ['NETWORK_ERROR', 'RETRYABLE'],
    ['TIMEOUT', 'UNKNOWN'],
    ['UNREADABLE_RESPONSE', 'RETRYABLE'],
  ] as const)('no answer (%s) retries, recorded as %s', (cause, outcome) => {
    const r = deliveryTransition(states.retrying, { type: 'NO_ANSWER', now, cause }, policy);
    expect(r).toEqual({
      ok: true,
      state: {
        status: 'retrying',
        attempts: 2,
        redeliveries: 0,
        updatedAtMs: now,
        nextAttemptAtMs: now + 2_000,
        lastFailure: { cause, outcome },
      },
    });
  });

  it('dead-letters when the attempt bound is reached, counting every attempt', () => {
    let state = newDelivery(T0);
    const seen: string[] = [];
    for (let i = 0; i < policy.maxAttempts; i++) {
      const r = deliveryTransition(
        state,
        { type: 'NO_ANSWER', now: T0 + i, cause: 'NETWORK_ERROR' },
        policy,
      );
      expect(r.ok).toBe(true);
      state = r.state;
      seen.push(`${state.status}:${state.attempts}`);
    }
    expect(seen).toEqual(['retrying:1', 'retrying:2', 'dead_letter:3']);
  });

  it('redeliver starts a new round and counts the redelivery', () => {
    const r = deliveryTransition(states.dead_letter, { type: 'REDELIVER', now }, policy);
    expect(r).toEqual({
      ok: true,
      state: {
        status: 'pending',
        attempts: 0,
        redeliveries: 1,
        updatedAtMs: now,
        lastFailure: failure,
      },
    });
    const again = deliveryTransition(
      r.state,
      { type: 'ANSWERED', now, result: { resultStatus: 'S', resultCode: 'SUCCESS' } },
      policy,
    );
    expect(again.state).toMatchObject({ status: 'delivered', attempts: 1, redeliveries: 1 });
  });

  it('uses the default policy when none is given', () => {
    let state = newDelivery(T0);
    for (let i = 0; i < DEFAULT_DELIVERY_POLICY.maxAttempts; i++) {
      state = deliveryTransition(state, { type: 'NO_ANSWER', now: T0, cause: 'TIMEOUT' }).state;
    }
    expect(state).toMatchObject({ status: 'dead_letter', attempts: 8 });
  });
});

describe('deliveryBackoffMs', () => {
  it.each([
    [1, 1_000],
    [2, 2_000],
    [3, 3_000],
    [4, 3_000],
    [50, 3_000],
    [10_000, 3_000],
  ])('after %i failed attempts waits %i ms (capped)', (failed, delay) => {
    expect(deliveryBackoffMs(failed, policy)).toBe(delay);
  });

  it('applies jitter only from the caller-supplied draw', () => {
    const jittery = { ...policy, jitterRatio: 0.5 };
    expect(deliveryBackoffMs(2, jittery, 0)).toBe(2_000);
    expect(deliveryBackoffMs(2, jittery, 0.5)).toBe(1_500);
    expect(deliveryBackoffMs(2, jittery, 1)).toBe(1_000);
    expect(deliveryBackoffMs(2, jittery, Number.NaN)).toBe(2_000);
    expect(deliveryBackoffMs(2, jittery, 7)).toBe(1_000);
  });

  it('never exceeds the cap nor goes negative', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (failed, random) => {
          const d = deliveryBackoffMs(
            failed,
            { ...DEFAULT_DELIVERY_POLICY, jitterRatio: 1 },
            random,
          );
          return d >= 0 && d <= DEFAULT_DELIVERY_POLICY.maxDelayMs;
        },
      ),
    );
  });
});

describe('isDeliveryDue and policy checks', () => {
  it.each([
    ['pending', T0, true],
    ['retrying', T0 + 999, false],
    ['retrying', T0 + 1_000, true],
    ['delivered', T0 + 10_000, false],
    ['failed_final', T0 + 10_000, false],
    ['dead_letter', T0 + 10_000, false],
  ] as const)('%s at %i is due: %s', (status, at, due) => {
    expect(isDeliveryDue(states[status], at)).toBe(due);
  });

  it('accepts the default policy and names every bad field', () => {
    expect(deliveryPolicyProblems(DEFAULT_DELIVERY_POLICY)).toEqual([]);
    expect(
      deliveryPolicyProblems({
        maxAttempts: 0,
        baseDelayMs: -1,
        maxDelayMs: -2,
        multiplier: 0.5,
        jitterRatio: 2,
      }),
    ).toEqual([
      'maxAttempts must be an integer >= 1',
      'baseDelayMs must be >= 0',
      'maxDelayMs must be >= baseDelayMs',
      'multiplier must be >= 1',
      'jitterRatio must be within [0, 1]',
    ]);
  });
});
