import { describe, expect, it } from 'vitest';
import {
  EASYCARD_SESSION_FAILURES,
  EASYCARD_SESSION_STATES,
  SIGN_ON_VALIDITY_MS,
  easyCardSessionBlock,
  easyCardSessionExpiry,
  easyCardSessionReportedKind,
  easyCardSessionTransition,
  easyCardSessionUsable,
  nextSignOnAt,
  renewalDue,
  type EasyCardSessionState,
  type EasyCardSignOnFailure,
} from './easycard-session';
import { INTELLA_CALL_FAILURES, INTELLA_REASONS } from './intella';
import {
  EXPIRES_AT,
  HOUR,
  NOW,
  SAMPLE_EVENTS,
  SAMPLE_STATES,
} from './test/easycard-session-samples';

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
