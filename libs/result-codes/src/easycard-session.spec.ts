import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_EASYCARD_SESSION_CONFIG,
  EASYCARD_SESSION_ALLOWED,
  easyCardSessionReportedKind,
  EASYCARD_SESSION_FAILURES,
  EASYCARD_SESSION_EVENTS,
  EASYCARD_SESSION_STATES,
  SIGN_ON_VALIDITY_MS,
  easyCardBackoffDelayMs,
  easyCardSessionBlock,
  easyCardSessionExpiry,
  easyCardSessionTransition,
  easyCardSessionUsable,
  nextSignOnAt,
  renewalDue,
  type EasyCardSessionEvent,
  type EasyCardSessionEventType,
  type EasyCardSessionState,
  type EasyCardSessionStateKind,
  type EasyCardSignOnFailure,
} from './easycard-session';
import { INTELLA_CALL_FAILURES, INTELLA_REASONS } from './intella';

const HOUR = 60 * 60 * 1000;
const T0 = Date.UTC(2024, 0, 1, 0, 0, 0);
const NOW = T0 + 10 * HOUR;
const SIGNED_AT = T0;
const EXPIRES_AT = T0 + SIGN_ON_VALIDITY_MS;
const cfg = DEFAULT_EASYCARD_SESSION_CONFIG;

const retryable: EasyCardSignOnFailure = {
  outcome: 'RETRYABLE',
  reason: 'UNAVAILABLE',
  failures: 2,
  retryAt: NOW - 1,
};

const SAMPLE_STATES: Record<EasyCardSessionStateKind, EasyCardSessionState> = {
  unsigned: { kind: 'unsigned' },
  signing: { kind: 'signing', startedAt: NOW - 1000, failuresSoFar: 0 },
  signed: { kind: 'signed', signedAt: SIGNED_AT, expiresAt: EXPIRES_AT },
  renewing: {
    kind: 'renewing',
    startedAt: NOW - 1000,
    signedAt: SIGNED_AT,
    expiresAt: EXPIRES_AT,
    failuresSoFar: 0,
  },
  failed: { kind: 'failed', failure: retryable, signedAt: SIGNED_AT, expiresAt: EXPIRES_AT },
  expired: { kind: 'expired', expiredAt: EXPIRES_AT, failure: null },
};

const SAMPLE_EVENTS: Record<EasyCardSessionEventType, EasyCardSessionEvent> = {
  SIGN_ON_START: { type: 'SIGN_ON_START', now: NOW },
  SIGN_ON_SUCCEEDED: { type: 'SIGN_ON_SUCCEEDED', now: NOW },
  SIGN_ON_FAILED: { type: 'SIGN_ON_FAILED', now: NOW, outcome: 'RETRYABLE', reason: 'UNAVAILABLE' },
  CLOCK_TICK: { type: 'CLOCK_TICK', now: NOW },
  SETTLEMENT_COMPLETED: { type: 'SETTLEMENT_COMPLETED', now: NOW },
  KEY_UNREADABLE: { type: 'KEY_UNREADABLE', now: NOW },
};

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

describe('easyCardSessionTransition: failures and backoff', () => {
  const signing: EasyCardSessionState = { kind: 'signing', startedAt: NOW, failuresSoFar: 0 };

  it.each([
    ['CONFIG_ERROR', 'BAD_TRADE_KEY', null],
    ['CONFIG_ERROR', 'DECRYPTION_FAILED', null],
    ['CONFIG_ERROR', 'DEVICE_DEACTIVATED', null],
    ['FAILED', 'PREVIOUS_DAY_NOT_SETTLED', null],
    ['RETRYABLE', 'UNAVAILABLE', NOW + 30_000],
    ['UNKNOWN', 'ONGOING', NOW + 30_000],
  ] as const)('%s %s schedules retryAt %s', (outcome, reason, retryAt) => {
    const result = easyCardSessionTransition(signing, {
      type: 'SIGN_ON_FAILED',
      now: NOW,
      outcome,
      reason,
    });
    expect(result).toEqual({
      ok: true,
      state: {
        kind: 'failed',
        failure: { outcome, reason, failures: 1, retryAt },
        signedAt: null,
        expiresAt: null,
      },
    });
  });

  it('refuses a SIGN_ON_FAILED that claims SUCCESS', () => {
    const event = {
      type: 'SIGN_ON_FAILED',
      now: NOW,
      outcome: 'SUCCESS',
      reason: 'OK',
    } as unknown as EasyCardSessionEvent;
    expect(easyCardSessionTransition(signing, event)).toEqual({
      ok: false,
      state: signing,
      reason: 'SUCCESS_IS_NOT_A_FAILURE',
    });
    const renewing = SAMPLE_STATES.renewing;
    expect(easyCardSessionTransition(renewing, event)).toEqual({
      ok: false,
      state: renewing,
      reason: 'SUCCESS_IS_NOT_A_FAILURE',
    });
  });

  it('waits for the backoff, then retries', () => {
    const failed: EasyCardSessionState = {
      kind: 'failed',
      failure: { ...retryable, retryAt: NOW + 1000 },
      signedAt: null,
      expiresAt: null,
    };
    expect(easyCardSessionTransition(failed, { type: 'SIGN_ON_START', now: NOW + 999 })).toEqual({
      ok: false,
      state: failed,
      reason: 'BACKOFF_PENDING',
    });
    expect(easyCardSessionTransition(failed, { type: 'SIGN_ON_START', now: NOW + 1000 })).toEqual({
      ok: true,
      state: { kind: 'signing', startedAt: NOW + 1000, failuresSoFar: 2 },
    });
  });

  it('an expired session honours the backoff of the failure that preceded it', () => {
    const state: EasyCardSessionState = {
      kind: 'expired',
      expiredAt: EXPIRES_AT,
      failure: { ...retryable, retryAt: NOW + 1000 },
    };
    expect(easyCardSessionTransition(state, { type: 'SIGN_ON_START', now: NOW })).toEqual({
      ok: false,
      state,
      reason: 'BACKOFF_PENDING',
    });
  });

  it.each([['failed'], ['expired']] as const)(
    'a CONFIG_ERROR in %s is never retried automatically, only by an operator',
    (kind) => {
      const failure: EasyCardSignOnFailure = {
        outcome: 'CONFIG_ERROR',
        reason: 'BAD_TRADE_KEY',
        failures: 4,
        retryAt: null,
      };
      const state: EasyCardSessionState =
        kind === 'failed'
          ? { kind, failure, signedAt: null, expiresAt: null }
          : { kind, expiredAt: EXPIRES_AT, failure };
      expect(
        easyCardSessionTransition(state, { type: 'SIGN_ON_START', now: NOW + 1000 * HOUR }),
      ).toEqual({
        ok: false,
        state,
        reason: 'OPERATOR_ACTION_REQUIRED',
      });
      expect(
        easyCardSessionTransition(state, { type: 'SIGN_ON_START', now: NOW, operator: true }),
      ).toEqual({
        ok: true,
        state: {
          kind: 'signing',
          startedAt: NOW,
          failuresSoFar: 0,
          ...(kind === 'expired' && { expiredAt: EXPIRES_AT }),
        },
      });
    },
  );

  it('an operator retry of a failed renewal keeps the old sign-on and restarts the backoff', () => {
    const state: EasyCardSessionState = {
      kind: 'failed',
      failure: { outcome: 'CONFIG_ERROR', reason: 'BAD_TRADE_KEY', failures: 3, retryAt: null },
      signedAt: SIGNED_AT,
      expiresAt: EXPIRES_AT,
    };
    expect(
      easyCardSessionTransition(state, { type: 'SIGN_ON_START', now: NOW, operator: true }),
    ).toEqual({
      ok: true,
      state: {
        kind: 'renewing',
        startedAt: NOW,
        signedAt: SIGNED_AT,
        expiresAt: EXPIRES_AT,
        failuresSoFar: 0,
      },
    });
  });

  it('settlement blocking is its own reason and is lifted by SETTLEMENT_COMPLETED', () => {
    const failure: EasyCardSignOnFailure = {
      outcome: 'FAILED',
      reason: 'PREVIOUS_DAY_NOT_SETTLED',
      failures: 1,
      retryAt: null,
    };
    const state: EasyCardSessionState = {
      kind: 'failed',
      failure,
      signedAt: null,
      expiresAt: null,
    };
    expect(easyCardSessionTransition(state, { type: 'SIGN_ON_START', now: NOW })).toEqual({
      ok: false,
      state,
      reason: 'SETTLEMENT_REQUIRED',
    });
    const settled = easyCardSessionTransition(state, {
      type: 'SETTLEMENT_COMPLETED',
      now: NOW + 10,
    });
    expect(settled).toEqual({
      ok: true,
      state: { ...state, failure: { ...failure, retryAt: NOW + 10 } },
    });
    expect(
      easyCardSessionTransition(settled.state, { type: 'SIGN_ON_START', now: NOW + 10 }),
    ).toEqual({
      ok: true,
      state: { kind: 'signing', startedAt: NOW + 10, failuresSoFar: 1 },
    });
  });

  it('settlement lifts the block on an expired session too', () => {
    const failure: EasyCardSignOnFailure = {
      outcome: 'FAILED',
      reason: 'PREVIOUS_DAY_NOT_SETTLED',
      failures: 1,
      retryAt: null,
    };
    const state: EasyCardSessionState = { kind: 'expired', expiredAt: EXPIRES_AT, failure };
    expect(easyCardSessionTransition(state, { type: 'SETTLEMENT_COMPLETED', now: NOW })).toEqual({
      ok: true,
      state: { ...state, failure: { ...failure, retryAt: NOW } },
    });
  });

  it('settlement does not lift a CONFIG_ERROR block', () => {
    const state: EasyCardSessionState = {
      kind: 'failed',
      failure: { outcome: 'CONFIG_ERROR', reason: 'BAD_TRADE_KEY', failures: 1, retryAt: null },
      signedAt: null,
      expiresAt: null,
    };
    expect(easyCardSessionTransition(state, { type: 'SETTLEMENT_COMPLETED', now: NOW })).toEqual({
      ok: true,
      state,
    });
  });

  it('doubles the delay on consecutive failures and caps it', () => {
    const config = { backoffBaseMs: 1000, backoffFactor: 2, backoffMaxMs: 5000 };
    let state: EasyCardSessionState = { kind: 'unsigned' };
    const delays: number[] = [];
    let now = NOW;
    for (let attempt = 0; attempt < 5; attempt++) {
      state = easyCardSessionTransition(state, { type: 'SIGN_ON_START', now }, config).state;
      expect(state.kind).toBe('signing');
      const failed: EasyCardSessionState = easyCardSessionTransition(
        state,
        { type: 'SIGN_ON_FAILED', now, outcome: 'RETRYABLE', reason: 'UNAVAILABLE' },
        config,
      ).state;
      if (failed.kind !== 'failed' || failed.failure.retryAt === null)
        throw new Error('expected a scheduled retry');
      delays.push(failed.failure.retryAt - now);
      now = failed.failure.retryAt;
      state = failed;
    }
    expect(delays).toEqual([1000, 2000, 4000, 5000, 5000]);
  });

  it('a success after failures starts over with a clean slate', () => {
    const renewing = easyCardSessionTransition(SAMPLE_STATES.failed, {
      type: 'SIGN_ON_START',
      now: NOW,
    }).state;
    expect(
      easyCardSessionTransition(renewing, { type: 'SIGN_ON_SUCCEEDED', now: NOW + 1 }),
    ).toEqual({
      ok: true,
      state: { kind: 'signed', signedAt: NOW + 1, expiresAt: NOW + 1 + SIGN_ON_VALIDITY_MS },
    });
  });

  it('backoff stays within [base, max] and never shrinks', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 1, max: 200 }),
        (base, factor, extra, failures) => {
          const config = { backoffBaseMs: base, backoffFactor: factor, backoffMaxMs: base + extra };
          const delay = easyCardBackoffDelayMs(failures, config);
          expect(delay).toBeGreaterThanOrEqual(base);
          expect(delay).toBeLessThanOrEqual(base + extra);
          expect(easyCardBackoffDelayMs(failures + 1, config)).toBeGreaterThanOrEqual(delay);
        },
      ),
    );
  });
});

describe('helpers', () => {
  it('SIGN_ON_VALIDITY_MS is 30 hours', () => {
    expect(SIGN_ON_VALIDITY_MS).toBe(108_000_000);
  });

  it.each([
    [EXPIRES_AT - 2 * HOUR - 1, undefined, false],
    [EXPIRES_AT - 2 * HOUR, undefined, true],
    [EXPIRES_AT + 1, undefined, true],
    [EXPIRES_AT - HOUR - 1, HOUR, false],
    [EXPIRES_AT - HOUR, HOUR, true],
  ])('renewalDue(signed, %s, %s) is %s', (now, margin, due) => {
    expect(renewalDue(SAMPLE_STATES.signed, now, margin)).toBe(due);
  });

  it.each(EASYCARD_SESSION_STATES.filter((kind) => kind !== 'signed'))(
    'renewalDue is false for %s',
    (kind) => {
      expect(renewalDue(SAMPLE_STATES[kind], EXPIRES_AT + HOUR)).toBe(false);
    },
  );

  it.each([
    ['unsigned', NOW, false],
    ['signing', NOW, false],
    ['signed', NOW, true],
    ['signed', EXPIRES_AT, false],
    ['renewing', NOW, true],
    ['failed', NOW, true],
    ['failed', EXPIRES_AT, false],
    ['expired', NOW, false],
  ] as const)('easyCardSessionUsable(%s, %s) is %s', (kind, now, usable) => {
    expect(easyCardSessionUsable(SAMPLE_STATES[kind], now)).toBe(usable);
  });

  it.each([
    ['unsigned', 0],
    ['signing', null],
    ['signed', EXPIRES_AT - 2 * HOUR],
    ['renewing', null],
    ['failed', NOW - 1],
    ['expired', EXPIRES_AT],
  ] as const)('nextSignOnAt(%s) is %s', (kind, at) => {
    expect(nextSignOnAt(SAMPLE_STATES[kind])).toBe(at);
  });

  it('nextSignOnAt is null while an operator must act', () => {
    const state: EasyCardSessionState = {
      kind: 'failed',
      failure: { outcome: 'CONFIG_ERROR', reason: 'BAD_TRADE_KEY', failures: 1, retryAt: null },
      signedAt: null,
      expiresAt: null,
    };
    expect(nextSignOnAt(state)).toBeNull();
  });
});

describe('issue 16 §2: unreadable keys and expiry as reported', () => {
  it('KEY_UNREADABLE leaves a failed sign-on that is past its expiry alone (nothing usable to replace)', () => {
    const lapsed = { ...SAMPLE_STATES.failed, expiresAt: NOW - 1 } as EasyCardSessionState;
    expect(easyCardSessionTransition(lapsed, SAMPLE_EVENTS.KEY_UNREADABLE)).toMatchObject({
      ok: false,
      reason: 'NOT_ALLOWED',
    });
  });

  it('a sign-on replaced for an unreadable key is not usable and is due at once', () => {
    const result = easyCardSessionTransition(SAMPLE_STATES.signed, SAMPLE_EVENTS.KEY_UNREADABLE);
    expect(easyCardSessionUsable(result.state, NOW)).toBe(false);
    expect(nextSignOnAt(result.state)).toBe(NOW);
    expect(EASYCARD_SESSION_FAILURES.KEY_UNREADABLE.outcome).toBe('RETRYABLE');
  });

  it.each([
    ['failed', EXPIRES_AT - 1, 'failed'],
    ['failed', EXPIRES_AT, 'expired'],
    ['signed', EXPIRES_AT, 'expired'],
    ['signed', EXPIRES_AT - 1, 'signed'],
    ['renewing', EXPIRES_AT + 1, 'renewing'],
    ['expired', EXPIRES_AT + 1, 'expired'],
  ] as const)('a %s session at %s is reported as %s', (kind, now, reported) => {
    expect(easyCardSessionReportedKind(SAMPLE_STATES[kind], now)).toBe(reported);
  });
});

describe('session-level failures, blocks and expiry', () => {
  it('EASYCARD_SESSION_FAILURES reasons do not clash with intella reasons', () => {
    for (const reason of Object.keys(EASYCARD_SESSION_FAILURES)) {
      expect(Object.keys(INTELLA_REASONS)).not.toContain(reason);
      expect(Object.keys(INTELLA_CALL_FAILURES)).not.toContain(reason);
    }
    expect(EASYCARD_SESSION_FAILURES.LEASE_EXPIRED.outcome).toBe('UNKNOWN');
    expect(EASYCARD_SESSION_FAILURES.UNKNOWN_MERCHANT.outcome).toBe('CONFIG_ERROR');
  });

  const blocked = (reason: string): EasyCardSignOnFailure => ({
    outcome: reason === 'PREVIOUS_DAY_NOT_SETTLED' ? 'FAILED' : 'CONFIG_ERROR',
    reason,
    failures: 1,
    retryAt: null,
  });

  it.each([
    ['unsigned', SAMPLE_STATES.unsigned, undefined],
    ['signed', SAMPLE_STATES.signed, undefined],
    ['failed with backoff', SAMPLE_STATES.failed, undefined],
    [
      'failed on a bad TradeKey',
      { kind: 'failed', failure: blocked('BAD_TRADE_KEY'), signedAt: null, expiresAt: null },
      'BAD_TRADE_KEY',
    ],
    [
      'expired while unsettled',
      { kind: 'expired', expiredAt: EXPIRES_AT, failure: blocked('PREVIOUS_DAY_NOT_SETTLED') },
      'PREVIOUS_DAY_NOT_SETTLED',
    ],
    ['expired without a failure', SAMPLE_STATES.expired, undefined],
  ] as Array<[string, EasyCardSessionState, string | undefined]>)(
    'easyCardSessionBlock(%s) is %s',
    (_name, state, block) => {
      expect(easyCardSessionBlock(state)).toBe(block);
    },
  );

  it.each([
    ['unsigned', null],
    ['signing', null],
    ['signing after expiry', EXPIRES_AT],
    ['signed', EXPIRES_AT],
    ['renewing', EXPIRES_AT],
    ['failed', EXPIRES_AT],
    ['expired', EXPIRES_AT],
  ] as const)('easyCardSessionExpiry(%s) is %s', (kind, at) => {
    const state: EasyCardSessionState =
      kind === 'signing after expiry'
        ? { kind: 'signing', startedAt: NOW, failuresSoFar: 0, expiredAt: EXPIRES_AT }
        : SAMPLE_STATES[kind];
    expect(easyCardSessionExpiry(state)).toBe(at);
  });
});
