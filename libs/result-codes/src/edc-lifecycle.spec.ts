import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EDC_PHASE_LIST,
  EDC_REFUSAL_REASONS,
  EDC_TRANSITIONS,
  edcOutcome,
  edcTransition,
  newEdcCommand,
  type EdcCommandRecord,
  type EdcEvent,
  type EdcEventKey,
  type EdcPhase,
} from './edc-lifecycle';
import { KICC_EVENT_CODE_LIST, type KiccEventCode } from './kicc';

const T0 = 1_700_000_000_000;
const SMALL = { paymentAmount: { value: '104', currency: 'KRW' } };
const LARGE = { paymentAmount: { value: '60000', currency: 'KRW' } };

function step(record: EdcCommandRecord, event: EdcEvent): EdcCommandRecord {
  const result = edcTransition(record, event);
  if (!result.ok) throw new Error(`fixture step refused: ${result.reason}`);
  return result.state;
}

const device = (code: KiccEventCode, at: number): EdcEvent => ({ type: 'device_event', code, at });

/** A Purchase record in each phase, reached through real transitions. */
function recordIn(phase: EdcPhase): EdcCommandRecord {
  const accepted = newEdcCommand({ commandName: 'Purchase', params: SMALL, now: T0 });
  const sent = () => step(accepted, { type: 'dispatched', at: T0 + 10 });
  const timedOut = () => step(sent(), { type: 'deadline_passed', at: T0 + 95_010 });
  const recovering = () => step(timedOut(), { type: 'recovery_started', at: T0 + 96_000 });
  switch (phase) {
    case 'accepted':
      return accepted;
    case 'sent':
      return sent();
    case 'READY':
    case 'CARD_DETECTED':
    case 'CARD_READ_COMPLETED':
    case 'PENDING_SIGNATURE':
    case 'START_TRANSACTION':
      return step(sent(), device(phase, T0 + 1_000));
    case 'timed_out':
      return timedOut();
    case 'recovering':
      return recovering();
    case 'in_doubt':
      return step(recovering(), {
        type: 'recovery_answer',
        verdict: 'inconclusive',
        at: T0 + 97_000,
      });
    case 'succeeded':
      return step(sent(), { type: 'onSuccess', resultCode: 'SUCCESS', at: T0 + 20_000 });
    case 'failed':
      return step(sent(), { type: 'onBusinessFailed', code: 'PROCESS_FAIL', at: T0 + 20_000 });
    case 'cancelled':
      return step(accepted, { type: 'cancel_requested', at: T0 + 5 });
  }
}

const LATE = T0 + 10_000_000;

/** One event per table key, chosen so that the handler's own guards let it through. */
function eventFor(key: EdcEventKey): EdcEvent {
  const at = LATE;
  switch (key) {
    case 'dispatched':
    case 'deadline_passed':
    case 'bridge_lost':
    case 'cancel_requested':
    case 'cancel_confirmed':
    case 'recovery_started':
      return { type: key, at };
    case 'onSuccess':
      return { type: 'onSuccess', resultCode: 'SUCCESS', at };
    case 'onCommandFailed':
      return { type: 'onCommandFailed', code: 'CommandParamError', at };
    case 'onBusinessFailed':
      return { type: 'onBusinessFailed', code: 'PROCESS_FAIL', at };
    case 'bridge_refused':
      return { type: 'bridge_refused', code: 'busy', at };
    case 'cancel_refused':
      return { type: 'cancel_refused', code: 'CommandInvalid', at };
    case 'recovery_answer':
      return { type: 'recovery_answer', verdict: 'succeeded', at };
    case 'recovery_failed':
      return { type: 'recovery_failed', code: 'CommandDeviceBusy', at };
    case 'operator_resolved':
      return { type: 'operator_resolved', verdict: 'failed', at };
    default:
      return device(key, at);
  }
}

function fixture(phase: EdcPhase, key: EdcEventKey): EdcCommandRecord {
  const record = recordIn(phase);
  if (key === 'cancel_confirmed' || key === 'cancel_refused') {
    return { ...record, cancel: { status: 'pending', requestedAt: T0, code: null } };
  }
  return record;
}

const PROGRESS_PHASES: EdcPhase[] = [
  'sent',
  'READY',
  'CARD_DETECTED',
  'CARD_READ_COMPLETED',
  'PENDING_SIGNATURE',
  'START_TRANSACTION',
];
const IN_FLIGHT = PROGRESS_PHASES;
const UNRESOLVED: EdcPhase[] = ['timed_out', 'recovering', 'in_doubt'];
const same = (phases: EdcPhase[]) =>
  Object.fromEntries(phases.map((p) => [p, p])) as Partial<Record<EdcPhase, EdcPhase>>;
const to = (phases: EdcPhase[], next: EdcPhase) =>
  Object.fromEntries(phases.map((p) => [p, next])) as Partial<Record<EdcPhase, EdcPhase>>;

function progressTo(code: EdcPhase): Partial<Record<EdcPhase, EdcPhase>> {
  return {
    ...to(PROGRESS_PHASES.slice(0, PROGRESS_PHASES.indexOf(code) + 1), code),
    ...same(UNRESOLVED),
  };
}

/** The oracle: every allowed (phase, key) pair and the phase it leads to. Written out independently of the table. */
const EXPECTED: Record<EdcEventKey, Partial<Record<EdcPhase, EdcPhase>>> = {
  dispatched: { accepted: 'sent' },
  READY: progressTo('READY'),
  CARD_DETECTED: progressTo('CARD_DETECTED'),
  CARD_READ_COMPLETED: progressTo('CARD_READ_COMPLETED'),
  PENDING_SIGNATURE: progressTo('PENDING_SIGNATURE'),
  START_TRANSACTION: progressTo('START_TRANSACTION'),
  CANCELLING: same([...IN_FLIGHT, ...UNRESOLVED]),
  FALLBACK_MAGCARDREADER: same([...IN_FLIGHT, ...UNRESOLVED]),
  REQUIRE_CARD_INSERT: same([...IN_FLIGHT, ...UNRESOLVED]),
  CARD_TRY_AGAIN: same([...IN_FLIGHT, ...UNRESOLVED]),
  CARD_MISSING: same([...IN_FLIGHT, ...UNRESOLVED]),
  DEVICE_INITIALIZE: same([...IN_FLIGHT, ...UNRESOLVED]),
  onSuccess: to([...IN_FLIGHT, ...UNRESOLVED, 'succeeded', 'failed', 'cancelled'], 'succeeded'),
  onCommandFailed: {
    ...to([...IN_FLIGHT, ...UNRESOLVED], 'failed'),
    failed: 'failed',
    cancelled: 'cancelled',
  },
  onBusinessFailed: {
    ...to([...IN_FLIGHT, ...UNRESOLVED], 'failed'),
    failed: 'failed',
    cancelled: 'cancelled',
  },
  bridge_refused: { sent: 'failed' },
  deadline_passed: { ...to(IN_FLIGHT, 'timed_out'), recovering: 'timed_out' },
  bridge_lost: { ...to(IN_FLIGHT, 'timed_out'), recovering: 'timed_out' },
  cancel_requested: {
    accepted: 'cancelled',
    sent: 'sent',
    READY: 'READY',
    CARD_DETECTED: 'CARD_DETECTED',
  },
  cancel_confirmed: to([...IN_FLIGHT, ...UNRESOLVED], 'cancelled'),
  cancel_refused: same([...IN_FLIGHT, ...UNRESOLVED, 'succeeded', 'failed', 'cancelled']),
  recovery_started: { timed_out: 'recovering' },
  recovery_answer: { recovering: 'succeeded' },
  recovery_failed: { recovering: 'timed_out' },
  operator_resolved: { in_doubt: 'failed' },
};

const KEYS = Object.keys(EXPECTED) as EdcEventKey[];
const PAIRS = EDC_PHASE_LIST.flatMap((phase) => KEYS.map((key) => [phase, key] as const));
const ALLOWED = PAIRS.filter(([phase, key]) => EXPECTED[key][phase] !== undefined);
const FORBIDDEN = PAIRS.filter(([phase, key]) => EXPECTED[key][phase] === undefined);

describe('EDC lifecycle table', () => {
  it('covers every event key: all device codes and every other event type', () => {
    expect(Object.keys(EDC_TRANSITIONS).sort()).toEqual([...KEYS].sort());
    for (const code of KICC_EVENT_CODE_LIST) expect(KEYS).toContain(code);
  });

  it('allows exactly the pairs of the oracle', () => {
    const tablePairs = PAIRS.filter(([phase, key]) => EDC_TRANSITIONS[key][phase] !== undefined);
    expect(tablePairs).toEqual(ALLOWED);
    expect(ALLOWED).toHaveLength(168);
    expect(FORBIDDEN).toHaveLength(EDC_PHASE_LIST.length * KEYS.length - 168);
  });

  it.each(ALLOWED)('%s + %s is allowed', (phase, key) => {
    const result = edcTransition(fixture(phase, key), eventFor(key));
    expect(result).toMatchObject({ ok: true });
    expect(result.state.phase).toBe(EXPECTED[key][phase]);
  });

  it.each(FORBIDDEN)('%s + %s is refused and leaves the record as it was', (phase, key) => {
    const record = fixture(phase, key);
    const result = edcTransition(record, eventFor(key));
    expect(result.ok).toBe(false);
    expect(result.state).toBe(record);
    const reason = EDC_REFUSAL_REASONS[key]?.[phase] ?? `${key} is not allowed in ${phase}`;
    expect(result).toEqual({ ok: false, state: record, reason });
  });
});

describe('deadlines', () => {
  it('starts the command deadline from the dispatch time and the seed timeout', () => {
    const small = step(newEdcCommand({ commandName: 'Purchase', params: SMALL, now: T0 }), {
      type: 'dispatched',
      at: T0 + 7,
    });
    expect(small.sentAt).toBe(T0 + 7);
    expect(small.deadlineAt).toBe(T0 + 7 + 95_000);
    const large = step(newEdcCommand({ commandName: 'Purchase', params: LARGE, now: T0 }), {
      type: 'dispatched',
      at: T0,
    });
    expect(large.deadlineAt).toBe(T0 + 115_000);
    const cancel = step(newEdcCommand({ commandName: 'PurchaseCancel', now: T0 }), {
      type: 'dispatched',
      at: T0,
    });
    expect(cancel.deadlineAt).toBe(T0 + 85_000);
    const glt = step(newEdcCommand({ commandName: 'GetLastTransaction', now: T0 }), {
      type: 'dispatched',
      at: T0,
    });
    expect(glt.deadlineAt).toBe(T0 + 5_000);
  });

  it('honours a timeout override', () => {
    const record = newEdcCommand({
      commandName: 'Purchase',
      params: SMALL,
      now: T0,
      timeoutMs: 60_000,
    });
    expect(step(record, { type: 'dispatched', at: T0 }).deadlineAt).toBe(T0 + 60_000);
  });

  it('runs the card countdown from READY for paymentExpiryTime, restarts 20 s on PENDING_SIGNATURE, stops on START_TRANSACTION', () => {
    let record = newEdcCommand({
      commandName: 'Purchase',
      params: { ...LARGE, paymentExpiryTime: '40' },
      now: T0,
    });
    record = step(record, { type: 'dispatched', at: T0 });
    record = step(record, device('READY', T0 + 1_000));
    expect(record.countdownEndsAt).toBe(T0 + 41_000);
    record = step(record, device('CARD_DETECTED', T0 + 5_000));
    record = step(record, device('CARD_READ_COMPLETED', T0 + 6_000));
    expect(record.countdownEndsAt).toBe(T0 + 41_000);
    record = step(record, device('PENDING_SIGNATURE', T0 + 8_000));
    expect(record.countdownEndsAt).toBe(T0 + 28_000);
    expect(record.deadlineAt).toBe(T0 + 115_000);
    record = step(record, device('START_TRANSACTION', T0 + 20_000));
    expect(record.countdownEndsAt).toBeNull();
    expect(record.deadlineAt).toBe(T0 + 115_000);
  });

  it('keeps at least 20 s for a signature that starts near the command deadline', () => {
    let record = step(newEdcCommand({ commandName: 'Purchase', params: SMALL, now: T0 }), {
      type: 'dispatched',
      at: T0,
    });
    record = step(record, device('PENDING_SIGNATURE', T0 + 90_000));
    expect(record.deadlineAt).toBe(T0 + 110_000);
    expect(edcTransition(record, { type: 'deadline_passed', at: T0 + 95_000 })).toMatchObject({
      ok: false,
      reason: 'deadline not reached: a stale timer',
    });
    expect(step(record, { type: 'deadline_passed', at: T0 + 110_000 }).phase).toBe('timed_out');
  });

  it('refuses a timer that fires before the deadline', () => {
    const record = recordIn('READY');
    const result = edcTransition(record, { type: 'deadline_passed', at: T0 + 95_009 });
    expect(result).toEqual({
      ok: false,
      state: record,
      reason: 'deadline not reached: a stale timer',
    });
  });

  it('times out with the cause recorded and the outcome UNKNOWN for a Purchase', () => {
    const record = step(recordIn('START_TRANSACTION'), {
      type: 'deadline_passed',
      at: T0 + 95_010,
    });
    expect(record).toMatchObject({
      phase: 'timed_out',
      unknownCause: 'deadline',
      deadlineAt: null,
      countdownEndsAt: null,
    });
    expect(edcOutcome(record)).toBe('UNKNOWN');
    const lost = step(recordIn('READY'), { type: 'bridge_lost', at: T0 + 2_000 });
    expect(lost).toMatchObject({ phase: 'timed_out', unknownCause: 'bridge_lost' });
  });
});

describe('device events', () => {
  it('may skip phases whose events were lost', () => {
    expect(step(recordIn('sent'), device('START_TRANSACTION', T0 + 50)).phase).toBe(
      'START_TRANSACTION',
    );
  });

  it('refuses a device that goes back', () => {
    const record = recordIn('CARD_READ_COMPLETED');
    expect(edcTransition(record, device('READY', T0 + 2_000))).toEqual({
      ok: false,
      state: record,
      reason: 'device went back from CARD_READ_COMPLETED to READY',
    });
  });

  it('records notice codes with a count and without a phase change', () => {
    let record = recordIn('READY');
    record = step(record, device('CARD_TRY_AGAIN', T0 + 2_000));
    record = step(record, device('CARD_TRY_AGAIN', T0 + 3_000));
    record = step(record, device('FALLBACK_MAGCARDREADER', T0 + 4_000));
    expect(record.phase).toBe('READY');
    expect(record.notices).toEqual({ CARD_TRY_AGAIN: 2, FALLBACK_MAGCARDREADER: 1 });
    expect(record.lastDeviceEvent).toEqual({ code: 'FALLBACK_MAGCARDREADER', at: T0 + 4_000 });
  });

  it('records a late phase event on an unresolved record without moving it', () => {
    const record = step(recordIn('timed_out'), device('START_TRANSACTION', LATE));
    expect(record.phase).toBe('timed_out');
    expect(record.lastDeviceEvent).toEqual({ code: 'START_TRANSACTION', at: LATE });
    expect(record.notices).toEqual({});
  });

  it.each(KICC_EVENT_CODE_LIST)('%s is refused once the record is final', (code) => {
    for (const phase of ['succeeded', 'failed', 'cancelled'] as const) {
      expect(edcTransition(recordIn(phase), device(code, LATE)).ok).toBe(false);
    }
  });
});

describe('results', () => {
  it('closes a command with the device result', () => {
    const ok = step(recordIn('START_TRANSACTION'), {
      type: 'onSuccess',
      resultCode: 'SUCCESS',
      at: T0 + 30_000,
    });
    expect(ok).toMatchObject({
      phase: 'succeeded',
      resolution: 'device',
      finishedAt: T0 + 30_000,
      deadlineAt: null,
    });
    expect(edcOutcome(ok)).toBe('SUCCESS');
    const declined = step(recordIn('START_TRANSACTION'), {
      type: 'onBusinessFailed',
      code: 'USER_BALANCE_NOT_ENOUGH',
      at: T0 + 30_000,
    });
    expect(declined).toMatchObject({
      phase: 'failed',
      failure: { type: 'business', code: 'USER_BALANCE_NOT_ENOUGH' },
    });
    expect(edcOutcome(declined)).toBe('FAILED');
  });

  it('treats an onSuccess whose resultCode is not SUCCESS as that business failure', () => {
    const record = step(recordIn('START_TRANSACTION'), {
      type: 'onSuccess',
      resultCode: 'PROCESS_FAIL',
      at: T0 + 30_000,
    });
    expect(record).toMatchObject({
      phase: 'failed',
      failure: { type: 'business', code: 'PROCESS_FAIL' },
    });
  });

  it.each([
    ['onCommandFailed', 'CommandResponseTimeout'],
    ['onCommandFailed', 'CommandInvalidResponse'],
    ['onBusinessFailed', 'UNKNOWN'],
    ['onBusinessFailed', 'REPEAT_REQ_REJECT'],
    ['onBusinessFailed', 'NOT_IN_THE_SEED'],
  ] as const)('%s %s leaves a Purchase unknown, to be recovered', (type, code) => {
    const record = step(recordIn('START_TRANSACTION'), { type, code, at: T0 + 30_000 });
    expect(record).toMatchObject({
      phase: 'timed_out',
      unknownCause: 'unknown_answer',
      failure: null,
    });
    expect(edcOutcome(record)).toBe('UNKNOWN');
    // the same answer arriving again changes nothing
    expect(step(record, { type, code, at: T0 + 31_000 })).toBe(record);
  });

  it('maps a command failure of a payment to its table outcome, never RETRYABLE', () => {
    const busy = step(recordIn('sent'), {
      type: 'onCommandFailed',
      code: 'CommandDeviceBusy',
      at: T0 + 100,
    });
    expect(busy).toMatchObject({
      phase: 'failed',
      failure: { type: 'command', code: 'CommandDeviceBusy' },
    });
    expect(edcOutcome(busy)).toBe('FAILED');
    const unsupported = step(recordIn('sent'), {
      type: 'onCommandFailed',
      code: 'CommandNotSupport',
      at: T0 + 100,
    });
    expect(edcOutcome(unsupported)).toBe('CONFIG_ERROR');
  });

  it('lets a stand-alone GetLastTransaction fail as RETRYABLE and refuses to recover it', () => {
    let glt = step(newEdcCommand({ commandName: 'GetLastTransaction', now: T0 }), {
      type: 'dispatched',
      at: T0,
    });
    const busy = step(glt, { type: 'onCommandFailed', code: 'CommandDeviceBusy', at: T0 + 100 });
    expect(edcOutcome(busy)).toBe('RETRYABLE');
    glt = step(glt, { type: 'deadline_passed', at: T0 + 5_000 });
    expect(edcOutcome(glt)).toBe('RETRYABLE');
    expect(edcTransition(glt, { type: 'recovery_started', at: T0 + 6_000 })).toEqual({
      ok: false,
      state: glt,
      reason: 'GetLastTransaction is safe to repeat: retry it instead of recovering',
    });
  });

  it('records a bridge refusal', () => {
    const record = step(recordIn('sent'), { type: 'bridge_refused', code: 'busy', at: T0 + 20 });
    expect(record).toMatchObject({ phase: 'failed', failure: { type: 'bridge', code: 'busy' } });
    expect(edcOutcome(record)).toBe('FAILED');
  });
});

describe('late results', () => {
  it.each(UNRESOLVED)('a late success reconciles a %s record', (phase) => {
    const record = step(recordIn(phase), { type: 'onSuccess', resultCode: 'SUCCESS', at: LATE });
    expect(record).toMatchObject({
      phase: 'succeeded',
      resolution: 'late_device',
      finishedAt: LATE,
      contradicted: null,
    });
  });

  it.each(UNRESOLVED)('a late decline reconciles a %s record', (phase) => {
    const record = step(recordIn(phase), {
      type: 'onBusinessFailed',
      code: 'INVALID_CARD_NUMBER',
      at: LATE,
    });
    expect(record).toMatchObject({
      phase: 'failed',
      resolution: 'late_device',
      failure: { type: 'business', code: 'INVALID_CARD_NUMBER' },
    });
  });

  it.each(['failed', 'cancelled'] as const)(
    'a success after %s wins and is flagged for an operator',
    (phase) => {
      const record = step(recordIn(phase), { type: 'onSuccess', resultCode: 'SUCCESS', at: LATE });
      expect(record).toMatchObject({
        phase: 'succeeded',
        resolution: 'late_device',
        contradicted: phase,
        failure: null,
      });
    },
  );

  it('a repeated success is a no-op, a failure after success is a refused conflict', () => {
    const done = recordIn('succeeded');
    expect(edcTransition(done, { type: 'onSuccess', resultCode: 'SUCCESS', at: LATE })).toEqual({
      ok: true,
      state: done,
    });
    const conflict = edcTransition(done, {
      type: 'onBusinessFailed',
      code: 'PROCESS_FAIL',
      at: LATE,
    });
    expect(conflict).toEqual({
      ok: false,
      state: done,
      reason: EDC_REFUSAL_REASONS.onBusinessFailed?.succeeded,
    });
    expect(
      edcTransition(done, { type: 'onSuccess', resultCode: 'PROCESS_FAIL', at: LATE }).ok,
    ).toBe(false);
  });

  it('a repeated failure on a closed record is a no-op', () => {
    const failed = recordIn('failed');
    expect(
      edcTransition(failed, { type: 'onCommandFailed', code: 'CommandParamError', at: LATE }),
    ).toEqual({
      ok: true,
      state: failed,
    });
  });
});

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
