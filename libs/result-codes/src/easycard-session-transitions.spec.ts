import { describe, expect, it } from 'vitest';
import {
  DEFAULT_EASYCARD_SESSION_CONFIG,
  EASYCARD_SESSION_ALLOWED,
  EASYCARD_SESSION_EVENTS,
  EASYCARD_SESSION_STATES,
  SIGN_ON_VALIDITY_MS,
  easyCardSessionExpiry,
  easyCardSessionTransition,
  type EasyCardSessionEventType,
  type EasyCardSessionState,
  type EasyCardSessionStateKind,
} from './easycard-session';
import {
  EXPIRES_AT,
  HOUR,
  NOW,
  SAMPLE_EVENTS,
  SAMPLE_STATES,
  SIGNED_AT,
  retryable,
} from './test/easycard-session-samples';

const cfg = DEFAULT_EASYCARD_SESSION_CONFIG;

const KEY_UNREADABLE_STATE: EasyCardSessionState = {
  kind: 'failed',
  failure: { outcome: 'RETRYABLE', reason: 'KEY_UNREADABLE', failures: 0, retryAt: NOW },
  signedAt: null,
  expiresAt: null,
};

/** What every allowed pair does with the sample state and event. */
const ALLOWED_CASES: Record<string, EasyCardSessionState> = {
  'unsigned/SIGN_ON_START': { kind: 'signing', startedAt: NOW, failuresSoFar: 0 },
  'signing/SIGN_ON_SUCCEEDED': {
    kind: 'signed',
    signedAt: NOW,
    expiresAt: NOW + SIGN_ON_VALIDITY_MS,
  },
  'signing/SIGN_ON_FAILED': {
    kind: 'failed',
    failure: {
      outcome: 'RETRYABLE',
      reason: 'UNAVAILABLE',
      failures: 1,
      retryAt: NOW + cfg.backoffBaseMs,
    },
    signedAt: null,
    expiresAt: null,
  },
  'signed/SIGN_ON_START': {
    kind: 'renewing',
    startedAt: NOW,
    signedAt: SIGNED_AT,
    expiresAt: EXPIRES_AT,
    failuresSoFar: 0,
  },
  'signed/CLOCK_TICK': SAMPLE_STATES.signed,
  'signed/KEY_UNREADABLE': KEY_UNREADABLE_STATE,
  'failed/KEY_UNREADABLE': KEY_UNREADABLE_STATE,
  'renewing/SIGN_ON_SUCCEEDED': {
    kind: 'signed',
    signedAt: NOW,
    expiresAt: NOW + SIGN_ON_VALIDITY_MS,
  },
  'renewing/SIGN_ON_FAILED': {
    kind: 'failed',
    failure: {
      outcome: 'RETRYABLE',
      reason: 'UNAVAILABLE',
      failures: 1,
      retryAt: NOW + cfg.backoffBaseMs,
    },
    signedAt: SIGNED_AT,
    expiresAt: EXPIRES_AT,
  },
  'renewing/CLOCK_TICK': SAMPLE_STATES.renewing,
  'failed/SIGN_ON_START': {
    kind: 'renewing',
    startedAt: NOW,
    signedAt: SIGNED_AT,
    expiresAt: EXPIRES_AT,
    failuresSoFar: 2,
  },
  'failed/CLOCK_TICK': SAMPLE_STATES.failed,
  'failed/SETTLEMENT_COMPLETED': SAMPLE_STATES.failed,
  'expired/SIGN_ON_START': {
    kind: 'signing',
    startedAt: NOW,
    failuresSoFar: 0,
    expiredAt: EXPIRES_AT,
  },
  'expired/SETTLEMENT_COMPLETED': SAMPLE_STATES.expired,
};

const allowedKeys = EASYCARD_SESSION_ALLOWED.map(([kind, type]) => `${kind}/${type}`);
const forbidden = EASYCARD_SESSION_STATES.flatMap((kind) =>
  EASYCARD_SESSION_EVENTS.filter((type) => !allowedKeys.includes(`${kind}/${type}`)).map((type) => [
    kind,
    type,
  ]),
) as Array<[EasyCardSessionStateKind, EasyCardSessionEventType]>;

describe('easyCardSessionTransition: the table', () => {
  it('has an expected result for exactly the allowed pairs', () => {
    expect([...allowedKeys].sort()).toEqual(Object.keys(ALLOWED_CASES).sort());
  });

  it('forbids the remaining pairs (6 states x 6 events)', () => {
    expect(allowedKeys.length + forbidden.length).toBe(36);
    expect(forbidden).toHaveLength(21);
  });

  it.each(EASYCARD_SESSION_ALLOWED.map(([kind, type]) => [kind, type]))(
    'allows %s + %s',
    (kind, type) => {
      const result = easyCardSessionTransition(
        SAMPLE_STATES[kind as EasyCardSessionStateKind],
        SAMPLE_EVENTS[type as EasyCardSessionEventType],
      );
      expect(result).toEqual({ ok: true, state: ALLOWED_CASES[`${kind}/${type}`] });
    },
  );

  it.each(forbidden)('refuses %s + %s and keeps the state', (kind, type) => {
    const state = SAMPLE_STATES[kind];
    expect(easyCardSessionTransition(state, SAMPLE_EVENTS[type])).toEqual({
      ok: false,
      state,
      reason: 'NOT_ALLOWED',
    });
  });
});

describe('easyCardSessionTransition: expiry', () => {
  it.each([['signed'], ['renewing'], ['failed']] as const)(
    '%s expires once the clock reaches expiresAt',
    (kind) => {
      const state = SAMPLE_STATES[kind];
      expect(easyCardSessionTransition(state, { type: 'CLOCK_TICK', now: EXPIRES_AT - 1 })).toEqual(
        { ok: true, state },
      );
      const failure = kind === 'failed' ? retryable : null;
      expect(easyCardSessionTransition(state, { type: 'CLOCK_TICK', now: EXPIRES_AT })).toEqual({
        ok: true,
        state: { kind: 'expired', expiredAt: EXPIRES_AT, failure },
      });
    },
  );

  it('a failed first sign-on has nothing to expire', () => {
    const state: EasyCardSessionState = {
      kind: 'failed',
      failure: retryable,
      signedAt: null,
      expiresAt: null,
    };
    expect(easyCardSessionTransition(state, { type: 'CLOCK_TICK', now: NOW + 100 * HOUR })).toEqual(
      {
        ok: true,
        state,
      },
    );
  });

  it('a renewal that fails after expiry lands on expired and keeps the failure for backoff', () => {
    const result = easyCardSessionTransition(SAMPLE_STATES.renewing, {
      type: 'SIGN_ON_FAILED',
      now: EXPIRES_AT + 5,
      outcome: 'RETRYABLE',
      reason: 'UNAVAILABLE',
    });
    expect(result).toEqual({
      ok: true,
      state: {
        kind: 'expired',
        expiredAt: EXPIRES_AT,
        failure: {
          outcome: 'RETRYABLE',
          reason: 'UNAVAILABLE',
          failures: 1,
          retryAt: EXPIRES_AT + 5 + 30_000,
        },
      },
    });
  });

  it('a failed renewal past expiry signs on from scratch', () => {
    const result = easyCardSessionTransition(SAMPLE_STATES.failed, {
      type: 'SIGN_ON_START',
      now: EXPIRES_AT,
    });
    expect(result).toEqual({
      ok: true,
      state: { kind: 'signing', startedAt: EXPIRES_AT, failuresSoFar: 2, expiredAt: EXPIRES_AT },
    });
  });

  it('an outage that outlasts the sign-on stays expired through failed retries', () => {
    const start = easyCardSessionTransition(SAMPLE_STATES.expired, {
      type: 'SIGN_ON_START',
      now: EXPIRES_AT + HOUR,
    });
    expect(easyCardSessionExpiry(start.state)).toBe(EXPIRES_AT);
    const failed = easyCardSessionTransition(start.state, {
      type: 'SIGN_ON_FAILED',
      now: EXPIRES_AT + HOUR,
      outcome: 'RETRYABLE',
      reason: 'UNAVAILABLE',
    });
    expect(failed).toEqual({
      ok: true,
      state: {
        kind: 'expired',
        expiredAt: EXPIRES_AT,
        failure: {
          outcome: 'RETRYABLE',
          reason: 'UNAVAILABLE',
          failures: 1,
          retryAt: EXPIRES_AT + HOUR + cfg.backoffBaseMs,
        },
      },
    });
    // a first sign-on that fails has no lapsed sign-on to show
    const first = easyCardSessionTransition(
      { kind: 'signing', startedAt: NOW, failuresSoFar: 0 },
      { type: 'SIGN_ON_FAILED', now: NOW, outcome: 'RETRYABLE', reason: 'UNAVAILABLE' },
    );
    expect(first.state.kind).toBe('failed');
  });

  it('expired -> signing -> signed when intella returns', () => {
    const start = easyCardSessionTransition(SAMPLE_STATES.expired, {
      type: 'SIGN_ON_START',
      now: NOW,
    });
    expect(start.ok).toBe(true);
    const done = easyCardSessionTransition(start.state, {
      type: 'SIGN_ON_SUCCEEDED',
      now: NOW + 500,
    });
    expect(done).toEqual({
      ok: true,
      state: { kind: 'signed', signedAt: NOW + 500, expiresAt: NOW + 500 + SIGN_ON_VALIDITY_MS },
    });
  });
});
