import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EDC_PHASE_LIST,
  edcOutcome,
  edcTransition,
  newEdcCommand,
  type EdcEvent,
} from './edc-lifecycle';
import {
  T0,
  SMALL,
  step,
  device,
  recordIn,
  LATE,
  eventFor,
  KEYS,
} from './test/edc-lifecycle-fixtures';

describe('CommandCancel', () => {
  it('cancels a command that was never sent', () => {
    const record = recordIn('cancelled');
    expect(record).toMatchObject({ phase: 'cancelled', resolution: 'cancel', sentAt: null });
    expect(edcOutcome(record)).toBe('FAILED');
  });

  it.each(['sent', 'READY', 'CARD_DETECTED'] as const)(
    'is allowed in %s and confirmed into cancelled',
    (phase) => {
      let record = step(recordIn(phase), { type: 'cancel_requested', at: T0 + 3_000 });
      expect(record.cancel).toEqual({ status: 'pending', requestedAt: T0 + 3_000, code: null });
      expect(edcTransition(record, { type: 'cancel_requested', at: T0 + 3_100 })).toMatchObject({
        ok: false,
        reason: 'a CommandCancel is already pending',
      });
      record = step(record, device('CANCELLING', T0 + 3_200));
      record = step(record, { type: 'cancel_confirmed', at: T0 + 3_500 });
      expect(record).toMatchObject({
        phase: 'cancelled',
        resolution: 'cancel',
        finishedAt: T0 + 3_500,
      });
    },
  );

  it.each(['CARD_READ_COMPLETED', 'PENDING_SIGNATURE', 'START_TRANSACTION'] as const)(
    'is refused in %s with the vendor CommandInvalid meaning',
    (phase) => {
      const result = edcTransition(recordIn(phase), { type: 'cancel_requested', at: T0 + 3_000 });
      expect(result.ok).toBe(false);
      expect(!result.ok && result.reason).toBe(
        'CommandInvalid: Invalid command: the device does not accept it at this time.; CommandCancel can only be used before reading the card and initiating a payment',
      );
    },
  );

  it('loses the race when the card is read first: the refusal is recorded and the purchase goes on', () => {
    let record = step(recordIn('CARD_DETECTED'), { type: 'cancel_requested', at: T0 + 3_000 });
    record = step(record, device('CARD_READ_COMPLETED', T0 + 3_050));
    record = step(record, { type: 'cancel_refused', code: 'CommandInvalid', at: T0 + 3_100 });
    expect(record).toMatchObject({
      phase: 'CARD_READ_COMPLETED',
      cancel: { status: 'refused', code: 'CommandInvalid' },
    });
    record = step(record, { type: 'onSuccess', resultCode: 'SUCCESS', at: T0 + 9_000 });
    expect(record.phase).toBe('succeeded');
  });

  it('refuses a confirmation or refusal with no pending cancel', () => {
    const record = recordIn('READY');
    expect(edcTransition(record, { type: 'cancel_confirmed', at: T0 })).toMatchObject({
      ok: false,
      reason: 'no CommandCancel is pending',
    });
    expect(edcTransition(record, { type: 'cancel_refused', code: 'x', at: T0 })).toMatchObject({
      ok: false,
      reason: 'no CommandCancel is pending',
    });
  });
});

describe('recovery', () => {
  it('sends GetLastTransaction with its own 5 s deadline and counts attempts', () => {
    const record = recordIn('recovering');
    expect(record).toMatchObject({ recoveryAttempts: 1, deadlineAt: T0 + 96_000 + 5_000 });
    expect(edcOutcome(record)).toBeNull();
  });

  it.each([
    ['succeeded', 'succeeded', 'SUCCESS'],
    ['failed', 'failed', 'FAILED'],
    ['inconclusive', 'in_doubt', 'UNKNOWN'],
  ] as const)('a %s answer leads to %s', (verdict, phase, outcome) => {
    const record = step(recordIn('recovering'), {
      type: 'recovery_answer',
      verdict,
      code: 'PROCESS_FAIL',
      at: LATE,
    });
    expect(record.phase).toBe(phase);
    expect(edcOutcome(record)).toBe(outcome);
    if (phase !== 'in_doubt') expect(record.resolution).toBe('recovery');
  });

  it('retries until maxRecoveryAttempts, then is in doubt', () => {
    let record = step(
      newEdcCommand({ commandName: 'Purchase', params: SMALL, now: T0, maxRecoveryAttempts: 2 }),
      { type: 'dispatched', at: T0 },
    );
    record = step(record, { type: 'bridge_lost', at: T0 + 1_000 });
    record = step(record, { type: 'recovery_started', at: T0 + 2_000 });
    record = step(record, { type: 'recovery_failed', code: 'CommandDeviceBusy', at: T0 + 2_500 });
    expect(record).toMatchObject({ phase: 'timed_out', recoveryAttempts: 1 });
    record = step(record, { type: 'recovery_started', at: T0 + 3_000 });
    expect(edcTransition(record, { type: 'deadline_passed', at: T0 + 7_999 }).ok).toBe(false);
    record = step(record, { type: 'deadline_passed', at: T0 + 8_000 });
    expect(record).toMatchObject({ phase: 'in_doubt', recoveryAttempts: 2, deadlineAt: null });
    expect(edcOutcome(record)).toBe('UNKNOWN');
  });

  it('lets an operator settle a record in doubt', () => {
    const settled = step(recordIn('in_doubt'), {
      type: 'operator_resolved',
      verdict: 'succeeded',
      at: LATE,
    });
    expect(settled).toMatchObject({ phase: 'succeeded', resolution: 'operator' });
    const refused = step(recordIn('in_doubt'), {
      type: 'operator_resolved',
      verdict: 'failed',
      code: 'NOT_CHARGED',
      at: LATE,
    });
    expect(refused).toMatchObject({
      phase: 'failed',
      failure: { type: 'operator', code: 'NOT_CHARGED' },
    });
  });
});

describe('edcOutcome', () => {
  it.each([
    ['accepted', null],
    ['sent', null],
    ['READY', null],
    ['START_TRANSACTION', null],
    ['timed_out', 'UNKNOWN'],
    ['recovering', null],
    ['in_doubt', 'UNKNOWN'],
    ['succeeded', 'SUCCESS'],
    ['failed', 'FAILED'],
    ['cancelled', 'FAILED'],
  ] as const)('%s -> %s', (phase, outcome) => {
    expect(edcOutcome(recordIn(phase))).toBe(outcome);
  });
});

describe('properties', () => {
  const events: fc.Arbitrary<EdcEvent> = fc.oneof(
    ...KEYS.map((key) =>
      fc.integer({ min: T0, max: LATE }).map((at) => ({ ...eventFor(key), at })),
    ),
    fc.record({
      type: fc.constant('onCommandFailed' as const),
      code: fc.constantFrom('CommandResponseTimeout', 'CommandDeviceBusy', 'x'),
      at: fc.integer({ min: T0, max: LATE }),
    }),
  );

  it('never throws, never mutates, and a Purchase is never RETRYABLE', () => {
    fc.assert(
      fc.property(fc.array(events, { maxLength: 30 }), (sequence) => {
        let record = newEdcCommand({ commandName: 'Purchase', params: SMALL, now: T0 });
        for (const event of sequence) {
          const frozen = JSON.stringify(record);
          const result = edcTransition(record, event);
          expect(JSON.stringify(record)).toBe(frozen);
          if (record.phase === 'succeeded') expect(result.state.phase).toBe('succeeded');
          record = result.state;
          expect(EDC_PHASE_LIST).toContain(record.phase);
          expect(edcOutcome(record)).not.toBe('RETRYABLE');
        }
      }),
    );
  });
});

describe('not started: the bridge journal says the command never reached the device', () => {
  it.each(['deadline', 'bridge_lost'] as const)(
    'a payment timed out by %s fails with NOT_RECEIVED, resolved by recovery, outcome FAILED',
    (cause) => {
      let record = recordIn('sent');
      record = step(record, {
        type: cause === 'deadline' ? 'deadline_passed' : 'bridge_lost',
        at: LATE,
      });
      expect(record.phase).toBe('timed_out');
      record = step(record, { type: 'not_started', code: 'NOT_RECEIVED', at: LATE + 1 });
      expect(record).toMatchObject({
        phase: 'failed',
        resolution: 'recovery',
        failure: { type: 'bridge', code: 'NOT_RECEIVED' },
        finishedAt: LATE + 1,
        deadlineAt: null,
        recoveryAttempts: 0,
      });
      expect(edcOutcome(record)).toBe('FAILED');
    },
  );

  it.each(['recovering', 'in_doubt', 'succeeded', 'START_TRANSACTION'] as const)(
    'is refused in %s: only a command whose result is unknown and not being asked for may be closed so',
    (phase) => {
      const record = recordIn(phase);
      expect(
        edcTransition(record, { type: 'not_started', code: 'NOT_RECEIVED', at: LATE }),
      ).toEqual({ ok: false, state: record, reason: `not_started is not allowed in ${phase}` });
    },
  );
});
