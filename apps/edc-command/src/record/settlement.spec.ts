import { describe, expect, it } from 'vitest';
import { stepCommand } from './command-step';
import type { StoredCommand } from './model';
import type { SettlementInput } from './settlement';
import type { CommandInput } from './step';
import { ctx, purchaseRecord, responseData, result, T0 } from './test/step-fixtures';

const by = { operator: 'alice', natsUser: 'operator' };
const settle = (outcome: 'SUCCESS' | 'FAILED'): CommandInput => ({
  type: 'operator_settle',
  settlement: { outcome, reason: 'checked with KICC', by } satisfies SettlementInput,
});

/** A Purchase that timed out, was recovered without proof, and is in doubt. */
function inDoubt(): StoredCommand {
  let record = stepCommand(purchaseRecord(), { type: 'deadline' }, ctx(T0 + 95_000)).record;
  record = stepCommand(
    record,
    { type: 'recovery_started', requestId: 'glt-1', notAfter: T0 + 200_000 },
    ctx(T0 + 96_000),
  ).record;
  const answer = result(
    1,
    {
      callback: 'onSuccess',
      responseData: { ...responseData(undefined), responseCommand: 'Purchase' },
    },
    'glt-1',
    'GetLastTransaction',
  );
  record = stepCommand(
    record,
    { type: 'recovery_message', message: answer },
    ctx(T0 + 97_000),
  ).record;
  expect(record.lifecycle.phase).toBe('in_doubt');
  return { ...record, outbox: [] };
}

describe('operator settlement of a command in doubt', () => {
  it.each([
    ['SUCCESS', 'succeeded', 'SUCCESS'],
    ['FAILED', 'failed', 'FAILED'],
  ] as const)(
    'settles %s: phase %s, audited, with a settlement and an outcome event',
    (outcome, phase, published) => {
      const step = stepCommand(inDoubt(), settle(outcome), ctx(T0 + 200_000));
      expect(step.notes).toContainEqual({ kind: 'settled', outcome });
      expect(step.record.lifecycle).toMatchObject({ phase, resolution: 'operator' });
      expect(step.record.settlement).toEqual({
        outcome,
        reason: 'checked with KICC',
        by,
        at: T0 + 200_000,
        deviceLastSaid: {
          lastDeviceEvent: null,
          unknownCause: 'deadline',
          recoveryAttempts: 1,
          recoveryReason: 'the last transaction carries no requestId',
        },
      });
      expect(step.record.outbox).toEqual([
        expect.objectContaining({ type: 'settlement', status: 'settled', outcome }),
        expect.objectContaining({ type: 'outcome', outcome: published, resolution: 'operator' }),
      ]);
    },
  );

  it.each([
    ['sent', purchaseRecord()],
    ['timed_out', stepCommand(purchaseRecord(), { type: 'deadline' }, ctx(T0 + 95_000)).record],
  ] as const)('is refused for a command %s, which stays as it is', (_phase, record) => {
    const step = stepCommand(record, settle('SUCCESS'), ctx(T0 + 200_000));
    expect(step.changed).toBe(false);
    expect(step.notes).toEqual([expect.objectContaining({ kind: 'not_in_doubt' })]);
    expect(step.record.settlement).toBeUndefined();
  });

  it('stores and publishes no card number beyond the BIN from the operator’s words', () => {
    const settled = stepCommand(
      inDoubt(),
      {
        type: 'operator_settle',
        settlement: {
          outcome: 'FAILED',
          reason: 'customer card 4111 1111 1111 1111 was declined at KICC',
          approval: '5555555555554444',
          by,
        },
      },
      ctx(T0 + 100_000),
    ).record;
    const written = JSON.stringify(settled);
    expect(written).not.toContain('4111 1111 1111 1111');
    expect(written).not.toContain('5555555555554444');
    expect(settled.settlement?.reason).toBe('customer card [redacted] was declined at KICC');
  });

  it('is refused a second time: a settled command is not in doubt', () => {
    const settled = stepCommand(inDoubt(), settle('FAILED'), ctx(T0 + 200_000)).record;
    const again = stepCommand(settled, settle('SUCCESS'), ctx(T0 + 201_000));
    expect(again.notes).toEqual([expect.objectContaining({ kind: 'not_in_doubt' })]);
    expect(again.record.lifecycle.phase).toBe('failed');
  });

  const late = (body: Record<string, unknown>) => ({
    type: 'bridge' as const,
    message: result(9, body),
  });
  const success = late({ callback: 'onSuccess', responseData: responseData('req-1') });
  const declined = late({
    callback: 'onBusinessFailed',
    failure: { code: 'USER_BALANCE_NOT_ENOUGH' },
    responseData: responseData('req-1', 'USER_BALANCE_NOT_ENOUGH'),
  });

  it.each([
    ['FAILED', success, 'failed', 'succeeded'],
    ['SUCCESS', declined, 'succeeded', 'failed'],
  ] as const)(
    'settled %s, a late device result that disagrees is kept as a conflict, never applied',
    (outcome, input, phase, verdict) => {
      const settled = stepCommand(inDoubt(), settle(outcome), ctx(T0 + 200_000)).record;
      const step = stepCommand({ ...settled, outbox: [] }, input, ctx(T0 + 300_000));
      expect(step.notes).toContainEqual({ kind: 'settlement_conflict' });
      expect(step.record.lifecycle).toMatchObject({ phase, resolution: 'operator' });
      expect(step.record.settlement?.conflict).toMatchObject({ at: T0 + 300_000, verdict });
      expect(step.record.outbox).toEqual([
        expect.objectContaining({ type: 'settlement', status: 'conflict', verdict }),
      ]);
      expect(step.record.result).toBeUndefined();
    },
  );

  it.each([
    ['SUCCESS', success],
    ['FAILED', declined],
  ] as const)('settled %s, a late device result that agrees changes nothing', (outcome, input) => {
    const settled = stepCommand(inDoubt(), settle(outcome), ctx(T0 + 200_000)).record;
    const step = stepCommand({ ...settled, outbox: [] }, input, ctx(T0 + 300_000));
    expect(step.notes).not.toContainEqual({ kind: 'settlement_conflict' });
    expect(step.record.settlement?.conflict).toBeUndefined();
    expect(step.record.outbox).toEqual([]);
  });
});
