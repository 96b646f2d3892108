import { randomBytes } from 'node:crypto';
import { DEFAULT_EASYCARD_SESSION_CONFIG, SIGN_ON_VALIDITY_MS } from '@tillbus/result-codes';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyBox } from './key-box';
import { maintain, replaceUnreadableKey } from './session-maintenance';
import {
  OUTBOX_LIMIT,
  dropPublished,
  keyCheck,
  newSessionRecord,
  type SessionPolicy,
  type SessionRecord,
} from './session-record';
import { claimSettlement, completeSettlement, settlementDue } from './session-settlement';
import {
  claimScheduledSignOn,
  claimSignOn,
  completeSignOn,
  signOnDue,
  type SignOnOutcome,
} from './session-sign-on';
import { sessionView } from './session-view';
import { settlementWindow } from './settlement-window';

const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 0, 1, 2, 0); // 10:00 Taiwan
const REAL = 1_000_000;
const KEY = '0123456789abcdef0123456789abcdef';
const FP = 'fingerprint-1';
const box = new KeyBox(randomBytes(32));
const policy: SessionPolicy = {
  renewalMarginMs: 2 * HOUR,
  expiringNoticeMs: HOUR,
  leaseMs: 60_000,
  machine: DEFAULT_EASYCARD_SESSION_CONFIG,
  settlementEnabled: true,
  window: settlementWindow('22:00', '23:30', 480),
};
const seal = (record: SessionRecord) => (key: string, signedAt: number) =>
  box.seal(key, { deviceId: record.deviceId, mchId: record.mchId, signedAt });
const success: SignOnOutcome = {
  outcome: 'SUCCESS',
  reason: 'OK',
  data: {
    ErrorCode: '000000',
    NewAESKey: KEY,
    NewDeviceID: '0830000001300001',
    DongleDeviceID: 'ABC',
    DeviceID: '0201300001',
  },
};
const failure = (outcome: SignOnOutcome['outcome'], reason: string): SignOnOutcome => ({
  outcome,
  reason,
  data: null,
});

function claimed(record: SessionRecord, now = T0, operator = false, token = 't1'): SessionRecord {
  const claim = claimSignOn(record, now, REAL, policy, FP, { owner: 'r1', token, operator });
  if (!claim.record) throw new Error(`claim refused: ${claim.refusal}`);
  return claim.record;
}

function signedRecord(at = T0): SessionRecord {
  const record = claimed(newSessionRecord('01300001', 'ACCOUNT001', 'discovery', at), at);
  return { ...completeSignOn(record, 't1', success, at, FP, seal(record))!, outbox: [] };
}

describe('sign-on: claim and complete', () => {
  it('claims an unsigned reader with a lease and SIGN_ON_START', () => {
    const record = claimed(newSessionRecord('01300001', 'ACCOUNT001', 'bus', T0));
    expect(record.state).toEqual({ kind: 'signing', startedAt: T0, failuresSoFar: 0 });
    expect(record.lease).toEqual({ owner: 'r1', token: 't1', op: 'signon', until: REAL + 60_000 });
    expect(
      claimSignOn(record, T0, REAL + 1, policy, FP, { owner: 'r2', token: 't2', operator: true }),
    ).toEqual({
      refusal: 'IN_PROGRESS',
    });
  });

  it('records a success: signed for 30 h, key sealed, reader ids, one signed-on event', () => {
    const record = signedRecord();
    expect(record.state).toEqual({
      kind: 'signed',
      signedAt: T0,
      expiresAt: T0 + SIGN_ON_VALIDITY_MS,
    });
    expect(record.lease).toBeNull();
    expect(record.reader).toEqual({
      deviceID: '0201300001',
      newDeviceId: '0830000001300001',
      dongleDeviceId: 'ABC',
    });
    expect(box.open(record.key!, { deviceId: '01300001', mchId: 'ACCOUNT001' })).toBe(KEY);
    expect(JSON.stringify(record)).not.toContain(KEY);
    const fresh = claimed(newSessionRecord('01300001', 'ACCOUNT001', 'bus', T0));
    const done = completeSignOn(fresh, 't1', success, T0, FP, seal(fresh))!;
    expect(done.outbox.map((q) => q.event.type)).toEqual(['signed-on']);
    expect(JSON.stringify(done.outbox)).not.toContain(KEY);
  });

  it('a renewal counts as one and says renewed', () => {
    const renewing = claimed(signedRecord(), T0 + 28 * HOUR, false, 't2');
    expect(renewing.state.kind).toBe('renewing');
    const done = completeSignOn(renewing, 't2', success, T0 + 28 * HOUR, FP, seal(renewing))!;
    expect(done).toMatchObject({ renewals: 1, signOns: 2 });
    expect(done.outbox.map((q) => q.event.type)).toEqual(['renewed']);
  });

  it('ignores a result whose lease was taken over', () => {
    const record = claimed(newSessionRecord('01300001', 'ACCOUNT001', 'bus', T0));
    expect(completeSignOn(record, 'other-token', success, T0, FP, seal(record))).toBeUndefined();
  });

  it('a success without NewAESKey is a failure (RESPONSE_INCOMPLETE)', () => {
    const record = claimed(newSessionRecord('01300001', 'ACCOUNT001', 'bus', T0));
    const done = completeSignOn(
      record,
      't1',
      { ...success, data: { ErrorCode: '000000' } },
      T0,
      FP,
      seal(record),
    )!;
    expect(done.state).toMatchObject({
      kind: 'failed',
      failure: { outcome: 'UNKNOWN', reason: 'RESPONSE_INCOMPLETE' },
    });
    expect(done.key).toBeNull();
  });

  it.each([
    ['RETRYABLE', 'UNAVAILABLE', T0 + DEFAULT_EASYCARD_SESSION_CONFIG.backoffBaseMs],
    ['CONFIG_ERROR', 'BAD_TRADE_KEY', null],
    ['FAILED', 'PREVIOUS_DAY_NOT_SETTLED', null],
  ] as const)(
    'records a failure %s %s with its retry time and a failed event',
    (outcome, reason, retryAt) => {
      const record = claimed(newSessionRecord('01300001', 'ACCOUNT001', 'bus', T0));
      const done = completeSignOn(record, 't1', failure(outcome, reason), T0, FP, seal(record))!;
      expect(done.state).toMatchObject({ kind: 'failed', failure: { outcome, reason, retryAt } });
      expect(done.lastFailure).toMatchObject({
        operation: 'signon',
        outcome,
        reason,
        configFingerprint: FP,
      });
      expect(done.outbox.at(-1)!.event).toMatchObject({
        type: 'failed',
        outcome,
        reason,
        retryAt: retryAt === null ? null : new Date(retryAt).toISOString(),
      });
    },
  );
});

describe('claimScheduledSignOn', () => {
  it('judges due-ness on the fresh record: a reader another replica just signed on is left alone', () => {
    // the scheduler chose the reader while its cache still said unsigned
    const fresh = signedRecord();
    expect(
      claimScheduledSignOn(fresh, T0 + HOUR, REAL, policy, FP, { owner: 'r2', token: 't' }),
    ).toEqual({
      refusal: 'NOT_DUE',
    });
    expect(
      claimScheduledSignOn(fresh, T0 + 28 * HOUR, REAL, policy, FP, { owner: 'r2', token: 't' })
        .record?.state.kind,
    ).toBe('renewing');
    const inFlight = claimed(newSessionRecord('x', 'm', 'bus', T0));
    expect(
      claimScheduledSignOn(inFlight, T0, REAL, policy, FP, { owner: 'r2', token: 't' }),
    ).toEqual({
      refusal: 'IN_PROGRESS',
    });
  });
});

describe('signOnDue', () => {
  const blocked = () => {
    const record = claimed(newSessionRecord('01300001', 'ACCOUNT001', 'bus', T0));
    return completeSignOn(
      record,
      't1',
      failure('CONFIG_ERROR', 'BAD_TRADE_KEY'),
      T0,
      FP,
      seal(record),
    )!;
  };

  it.each([
    ['unsigned', () => newSessionRecord('x', 'm', 'bus', T0), T0, true],
    ['signed, before the margin', () => signedRecord(), T0 + 28 * HOUR - 1, false],
    ['signed, inside the margin', () => signedRecord(), T0 + 28 * HOUR, true],
    ['in flight', () => claimed(newSessionRecord('x', 'm', 'bus', T0)), T0, false],
    ['blocked by a CONFIG_ERROR', blocked, T0 + 100 * HOUR, false],
  ])('%s -> %s', (_name, build, now, due) => {
    expect(signOnDue(build(), now, REAL, policy, FP).due).toBe(due);
  });

  it('a changed merchant configuration retries a CONFIG_ERROR once, as an operator would', () => {
    expect(signOnDue(blocked(), T0, REAL, policy, 'fingerprint-2')).toEqual({
      due: true,
      operator: true,
    });
    const retried = claimSignOn(blocked(), T0, REAL, policy, 'fingerprint-2', {
      owner: 'r',
      token: 't',
      operator: true,
    });
    expect(retried.record?.state.kind).toBe('signing');
  });

  it('waits for the backoff of a retryable failure', () => {
    const record = claimed(newSessionRecord('x', 'm', 'bus', T0));
    const failed = completeSignOn(
      record,
      't1',
      failure('RETRYABLE', 'UNAVAILABLE'),
      T0,
      FP,
      seal(record),
    )!;
    const base = DEFAULT_EASYCARD_SESSION_CONFIG.backoffBaseMs;
    expect(signOnDue(failed, T0 + base - 1, REAL, policy, FP).due).toBe(false);
    expect(signOnDue(failed, T0 + base, REAL, policy, FP).due).toBe(true);
  });
});

describe('maintain: expiry, notices, stale leases', () => {
  it('queues expiring once inside the notice, then expired once at expiry', () => {
    const record = signedRecord();
    expect(maintain(record, T0 + 28 * HOUR, REAL, policy, FP)).toBeUndefined();
    const expiring = maintain(record, T0 + 29 * HOUR, REAL, policy, FP)!;
    expect(expiring.outbox.map((q) => q.event.type)).toEqual(['expiring']);
    expect(maintain(expiring, T0 + 29 * HOUR + 1, REAL, policy, FP)).toBeUndefined();
    const expired = maintain(expiring, T0 + 30 * HOUR, REAL, policy, FP)!;
    expect(expired.state).toEqual({ kind: 'expired', expiredAt: T0 + 30 * HOUR, failure: null });
    expect(expired.outbox.map((q) => q.event.type)).toEqual(['expiring', 'expired']);
    expect(maintain(expired, T0 + 31 * HOUR, REAL, policy, FP)).toBeUndefined();
  });

  it('leaves expiry to an attempt in flight', () => {
    const renewing = claimed(signedRecord(), T0 + 29.9 * HOUR, false, 't2');
    const later = maintain(renewing, T0 + 30 * HOUR, REAL, policy, FP);
    expect(later?.state.kind ?? renewing.state.kind).toBe('renewing');
  });

  it('takes over the stale lease of a dead replica as LEASE_EXPIRED, with backoff', () => {
    const stuck = claimed(newSessionRecord('x', 'm', 'bus', T0));
    expect(maintain(stuck, T0, REAL + 59_999, policy, FP)).toBeUndefined();
    const taken = maintain(stuck, T0, REAL + 60_000, policy, FP)!;
    expect(taken.lease).toBeNull();
    expect(taken.state).toMatchObject({
      kind: 'failed',
      failure: { outcome: 'UNKNOWN', reason: 'LEASE_EXPIRED' },
    });
    expect(taken.outbox.at(-1)!.event).toMatchObject({ type: 'failed', reason: 'LEASE_EXPIRED' });
  });
});

describe('settlement', () => {
  const tw = (day: number, hour: number, minute: number) =>
    Date.UTC(2024, 0, day, hour - 8, minute);
  const settled = (
    record: SessionRecord,
    at: number,
    result: { outcome: SignOnOutcome['outcome']; reason: string },
  ) => {
    const claim = claimSettlement(record, at, REAL, policy, FP, { owner: 'r', token: 's' });
    if (!claim.record) throw new Error(claim.refusal);
    return completeSettlement(claim.record, 's', result, at, policy)!;
  };

  it('is due once a day in the window, for readers that have signed on', () => {
    expect(
      settlementDue(newSessionRecord('x', 'm', 'bus', T0), tw(1, 22, 1), REAL, policy),
    ).toBeUndefined();
    const record = signedRecord(tw(1, 10, 0));
    expect(settlementDue(record, tw(1, 21, 59), REAL, policy)).toBeUndefined();
    expect(settlementDue(record, tw(1, 22, 0), REAL, policy)).toBe('daily');
    const done = settled(record, tw(1, 22, 0), { outcome: 'SUCCESS', reason: 'OK' });
    expect(done.outbox.at(-1)!.event).toMatchObject({ type: 'settled', businessDay: '2024-01-01' });
    expect(settlementDue(done, tw(1, 23, 0), REAL, policy)).toBeUndefined();
    expect(settlementDue(done, tw(2, 22, 0), REAL, policy)).toBe('daily');
    expect(settlementDue(done, tw(2, 23, 30), REAL, policy)).toBeUndefined();
    expect(
      settlementDue(record, tw(1, 22, 0), REAL, { ...policy, settlementEnabled: false }),
    ).toBeUndefined();
  });

  it('retries a retryable failure after backoff; gives up for the day on a final one', () => {
    const record = signedRecord(tw(1, 10, 0));
    const retryable = settled(record, tw(1, 22, 0), {
      outcome: 'RETRYABLE',
      reason: 'UNAVAILABLE',
    });
    const base = DEFAULT_EASYCARD_SESSION_CONFIG.backoffBaseMs;
    expect(retryable.settlement.retryAt).toBe(tw(1, 22, 0) + base);
    expect(settlementDue(retryable, tw(1, 22, 0) + base - 1, REAL, policy)).toBeUndefined();
    expect(settlementDue(retryable, tw(1, 22, 0) + base, REAL, policy)).toBe('daily');
    const final = settled(record, tw(1, 22, 0), {
      outcome: 'FAILED',
      reason: 'PREVIOUS_DAY_NOT_SETTLED',
    });
    expect(final.settlement).toMatchObject({ gaveUpDay: '2024-01-01', retryAt: null });
    expect(final.outbox.at(-1)!.event).toMatchObject({
      type: 'failed',
      operation: 'settlement',
      reason: 'PREVIOUS_DAY_NOT_SETTLED',
    });
    expect(settlementDue(final, tw(1, 22, 30), REAL, policy)).toBeUndefined();
    expect(settlementDue(final, tw(2, 22, 30), REAL, policy)).toBe('daily');
  });

  it('a 010117 on SignOn asks for a catch-up Settlement at once, whose success lifts the block', () => {
    const renewing = claimed(signedRecord(tw(1, 10, 0)), tw(2, 14, 0), false, 't2');
    const blocked = completeSignOn(
      renewing,
      't2',
      failure('FAILED', 'PREVIOUS_DAY_NOT_SETTLED'),
      tw(2, 14, 0),
      FP,
      seal(renewing),
    )!;
    expect(signOnDue(blocked, tw(2, 15, 0), REAL, policy, FP).due).toBe(false);
    expect(settlementDue(blocked, tw(2, 14, 0), REAL, policy)).toBe('catch-up');
    const lifted = settled(blocked, tw(2, 14, 1), { outcome: 'SUCCESS', reason: 'OK' });
    expect(lifted.state).toMatchObject({ kind: 'failed', failure: { retryAt: tw(2, 14, 1) } });
    expect(signOnDue(lifted, tw(2, 14, 1), REAL, policy, FP).due).toBe(true);
    // the same settlement is not repeated while the block it lifted has not come back
    expect(settlementDue(lifted, tw(2, 14, 2), REAL, policy)).toBeUndefined();
  });
});

describe('outbox and view', () => {
  it('drops published events, keeps the rest, and never holds more than the limit', () => {
    let record = signedRecord();
    for (let i = 0; i < OUTBOX_LIMIT + 5; i++)
      record = maintain(
        { ...record, notices: { expiringFor: null, expiredFor: null } },
        T0 + 29 * HOUR,
        REAL,
        policy,
        FP,
      )!;
    expect(record.outbox).toHaveLength(OUTBOX_LIMIT);
    const first = record.outbox[0].event.id;
    expect(dropPublished(record, new Set([first]))!.outbox).toHaveLength(OUTBOX_LIMIT - 1);
    expect(dropPublished(record, new Set(['nope']))).toBeUndefined();
  });

  it('shows everything but the key', () => {
    const view = sessionView(signedRecord(), T0 + HOUR, REAL, keyCheck(box));
    expect(view).toMatchObject({
      state: 'signed',
      usable: true,
      hasKey: true,
      secondsUntilExpiry: 29 * 3600,
      inFlight: null,
      failure: null,
    });
    expect(JSON.stringify(view)).not.toContain(KEY);
  });
});

describe('issue 16 §2: a key that does not open with the current key material', () => {
  const otherBox = new KeyBox(randomBytes(32));
  const RESTART = T0 + HOUR;

  it('is not usable, and a failed renewal past its expiry is reported as expired', () => {
    const record = signedRecord();
    expect(sessionView(record, T0 + HOUR, REAL, keyCheck(otherBox))).toMatchObject({
      state: 'signed',
      usable: false,
      hasKey: true,
    });
    const failedRenewal = completeSignOn(
      claimed(record, T0 + 29 * HOUR),
      't1',
      failure('CONFIG_ERROR', 'BAD_TRADE_KEY'),
      T0 + 29 * HOUR,
      FP,
      seal(record),
    )!;
    expect(failedRenewal.state.kind).toBe('failed');
    expect(sessionView(failedRenewal, T0 + 31 * HOUR, REAL, keyCheck(box))).toMatchObject({
      state: 'expired',
      usable: false,
    });
  });

  it('becomes a KEY_UNREADABLE failure due at once, drops the key and queues a failed event', () => {
    const replaced = replaceUnreadableKey(
      signedRecord(),
      RESTART,
      REAL,
      keyCheck(otherBox),
      RESTART,
      FP,
    )!;
    expect(replaced.key).toBeNull();
    expect(replaced.state).toEqual({
      kind: 'failed',
      failure: { outcome: 'RETRYABLE', reason: 'KEY_UNREADABLE', failures: 0, retryAt: RESTART },
      signedAt: null,
      expiresAt: null,
    });
    expect(signOnDue(replaced, RESTART, REAL, policy, FP).due).toBe(true);
    expect(replaced.outbox.at(-1)!.event).toMatchObject({
      type: 'failed',
      operation: 'signon',
      reason: 'KEY_UNREADABLE',
      retryAt: new Date(RESTART).toISOString(),
    });
  });

  it('leaves alone a key that opens, one sealed after this replica started, and one in flight', () => {
    const record = signedRecord();
    expect(replaceUnreadableKey(record, RESTART, REAL, keyCheck(box), RESTART, FP)).toBeUndefined();
    expect(
      replaceUnreadableKey(record, RESTART, REAL, keyCheck(otherBox), T0 - 1, FP),
    ).toBeUndefined();
    const renewing = claimed(record, T0 + 29 * HOUR);
    expect(
      replaceUnreadableKey(renewing, T0 + 29 * HOUR, REAL, keyCheck(otherBox), RESTART, FP),
    ).toBeUndefined();
  });
});

describe('invariants under any sequence of operations', () => {
  type Op =
    | { op: 'advance'; ms: number }
    | { op: 'claim'; operator: boolean }
    | { op: 'complete'; outcome: SignOnOutcome['outcome'] }
    | { op: 'maintain'; realJump: number }
    | { op: 'settle'; ok: boolean };
  const ops = fc.array(
    fc.oneof(
      fc.record({
        op: fc.constant('advance' as const),
        ms: fc.integer({ min: 0, max: 20 * HOUR }),
      }),
      fc.record({ op: fc.constant('claim' as const), operator: fc.boolean() }),
      fc.record({
        op: fc.constant('complete' as const),
        outcome: fc.constantFrom('SUCCESS', 'RETRYABLE', 'UNKNOWN', 'FAILED', 'CONFIG_ERROR'),
      }),
      fc.record({ op: fc.constant('maintain' as const), realJump: fc.constantFrom(0, 120_000) }),
      fc.record({ op: fc.constant('settle' as const), ok: fc.boolean() }),
    ) as fc.Arbitrary<Op>,
    { maxLength: 40 },
  );

  it('an attempt in flight always has its lease; the key only ever rests sealed; the outbox stays bounded', () => {
    fc.assert(
      fc.property(ops, (sequence) => {
        let record = newSessionRecord('01300001', 'ACCOUNT001', 'bus', T0);
        let now = T0;
        let real = REAL;
        let token = 0;
        for (const step of sequence) {
          if (step.op === 'advance') now += step.ms;
          if (step.op === 'claim') {
            const claim = claimSignOn(record, now, real, policy, FP, {
              owner: 'r',
              token: String(++token),
              operator: step.operator,
            });
            record = claim.record ?? record;
          }
          if (step.op === 'complete' && record.lease?.op === 'signon') {
            const result = step.outcome === 'SUCCESS' ? success : failure(step.outcome, 'X');
            record =
              completeSignOn(record, record.lease.token, result, now, FP, seal(record)) ?? record;
          }
          if (step.op === 'maintain') {
            real += step.realJump;
            record = maintain(record, now, real, policy, FP) ?? record;
          }
          if (step.op === 'settle') {
            const claim = claimSettlement(record, now, real, policy, FP, {
              owner: 'r',
              token: 's',
            });
            if (claim.record)
              record = completeSettlement(
                claim.record,
                's',
                step.ok
                  ? { outcome: 'SUCCESS', reason: 'OK' }
                  : { outcome: 'RETRYABLE', reason: 'X' },
                now,
                policy,
              )!;
          }
          const inFlight = record.state.kind === 'signing' || record.state.kind === 'renewing';
          expect(inFlight).toBe(record.lease?.op === 'signon');
          expect(record.outbox.length).toBeLessThanOrEqual(OUTBOX_LIMIT);
          expect(JSON.stringify(record)).not.toContain(KEY);
          if (record.key)
            expect(box.open(record.key, { deviceId: '01300001', mchId: 'ACCOUNT001' })).toBe(KEY);
        }
      }),
      { numRuns: 300 },
    );
  });
});
