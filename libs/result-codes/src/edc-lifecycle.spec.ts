import { describe, expect, it } from 'vitest';
import {
  EDC_PHASE_LIST,
  EDC_REFUSAL_REASONS,
  EDC_TRANSITIONS,
  edcOutcome,
  edcTransition,
  newEdcCommand,
} from './edc-lifecycle';
import { KICC_EVENT_CODE_LIST } from './kicc';
import {
  T0,
  SMALL,
  LARGE,
  step,
  device,
  recordIn,
  LATE,
  eventFor,
  fixture,
  EXPECTED,
  KEYS,
  PAIRS,
  ALLOWED,
  FORBIDDEN,
} from './test/edc-lifecycle-fixtures';

describe('EDC lifecycle table', () => {
  it('covers every event key: all device codes and every other event type', () => {
    expect(Object.keys(EDC_TRANSITIONS).sort()).toEqual([...KEYS].sort());
    for (const code of KICC_EVENT_CODE_LIST) expect(KEYS).toContain(code);
  });

  it('allows exactly the pairs of the oracle', () => {
    const tablePairs = PAIRS.filter(([phase, key]) => EDC_TRANSITIONS[key][phase] !== undefined);
    expect(tablePairs).toEqual(ALLOWED);
    expect(ALLOWED).toHaveLength(169);
    expect(FORBIDDEN).toHaveLength(EDC_PHASE_LIST.length * KEYS.length - 169);
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
