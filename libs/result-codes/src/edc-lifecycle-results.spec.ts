import { describe, expect, it } from 'vitest';
import { EDC_REFUSAL_REASONS, edcOutcome, edcTransition, newEdcCommand } from './edc-lifecycle';
import { T0, step, recordIn, LATE, UNRESOLVED } from './test/edc-lifecycle-fixtures';

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
