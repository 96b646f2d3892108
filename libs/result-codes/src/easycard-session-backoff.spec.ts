import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  SIGN_ON_VALIDITY_MS,
  easyCardBackoffDelayMs,
  easyCardSessionTransition,
  type EasyCardSessionEvent,
  type EasyCardSessionState,
  type EasyCardSignOnFailure,
} from './easycard-session';
import {
  EXPIRES_AT,
  HOUR,
  NOW,
  SAMPLE_STATES,
  SIGNED_AT,
  retryable,
} from './test/easycard-session-samples';

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
