import { edcTransition, newEdcCommand, type EdcEvent } from '@tillbus/result-codes';
import { describe, expect, it } from 'vitest';
import {
  baselineOf,
  needsBaseline,
  recoveryEvidence,
  type LastTransactionBaseline,
} from './baseline';
import { stepCommand } from './command-step';
import type { StoredCommand } from './model';
import { ctx, purchaseRecord, responseData, result, T0 } from './test/step-fixtures';

/** A stand-alone GetLastTransaction record after `answer` (none: it never answered). */
function query(answer: EdcEvent | null, data?: Record<string, unknown>): StoredCommand {
  let lifecycle = edcTransition(newEdcCommand({ commandName: 'GetLastTransaction', now: T0 }), {
    type: 'dispatched',
    at: T0,
  }).state;
  if (answer) lifecycle = edcTransition(lifecycle, answer).state;
  return {
    ...purchaseRecord({ commandName: 'GetLastTransaction', requestId: 'base-1', params: {} }),
    lifecycle,
    ...(data ? { result: data } : {}),
  };
}

const at = T0 + 10;

describe('baselineOf: what the GetLastTransaction before a payment says', () => {
  it.each([
    [
      'a transaction with its acquirerTransactionId',
      query(
        { type: 'onSuccess', resultCode: 'SUCCESS', at },
        responseData(undefined, 'SUCCESS', '000123'),
      ),
      { kind: 'transaction', transactionId: '000123' },
    ],
    [
      'a transaction without acquirerTransactionId',
      query({ type: 'onSuccess', resultCode: 'SUCCESS', at }, { acquirerInfo: {} }),
      { kind: 'unknown' },
    ],
    [
      'PROCESS_FAIL: the device has no transaction',
      query({ type: 'onBusinessFailed', code: 'PROCESS_FAIL', at }),
      { kind: 'none', code: 'PROCESS_FAIL' },
    ],
    [
      'another business failure',
      query({ type: 'onBusinessFailed', code: 'ACCESS_DENIED', at }),
      { kind: 'unknown' },
    ],
    [
      'a command failure (busy device)',
      query({ type: 'onCommandFailed', code: 'CommandDeviceBusy', at }),
      { kind: 'unknown' },
    ],
    [
      'refused by the bridge',
      query({ type: 'bridge_refused', code: 'busy', at }),
      { kind: 'unknown' },
    ],
    [
      'no answer before its deadline',
      query({ type: 'deadline_passed', at: T0 + 10_000 }),
      { kind: 'unknown' },
    ],
    ['still running', query(null), { kind: 'unknown' }],
    ['no record', null, { kind: 'unknown' }],
  ] as const)('%s', (_label, record, expected) => {
    expect(baselineOf('base-1', record, at)).toMatchObject({
      requestId: 'base-1',
      at,
      ...expected,
    });
  });

  it.each([
    ['Purchase', null, true],
    ['PurchaseCancel', null, true],
    ['Purchase', '000123', false],
    ['GetLastTransaction', null, false],
  ] as const)(
    'a %s with previous transaction %s needs a baseline: %s',
    (name, previous, needed) => {
      expect(needsBaseline(name, previous)).toBe(needed);
    },
  );
});

describe('recovery with a baseline: a lost result settles only on a transaction newer than it', () => {
  const base = { requestId: 'base-1', at: T0 };
  const transaction = (id: string): LastTransactionBaseline => ({
    ...base,
    kind: 'transaction',
    transactionId: id,
  });
  const none: LastTransactionBaseline = { ...base, kind: 'none', code: 'PROCESS_FAIL' };
  const unknown: LastTransactionBaseline = { ...base, kind: 'unknown', reason: 'no answer' };

  function recovering(baseline: LastTransactionBaseline | undefined): StoredCommand {
    const timedOut = stepCommand(
      purchaseRecord(baseline ? { baseline } : {}),
      { type: 'deadline' },
      ctx(T0 + 95_000),
    ).record;
    return stepCommand(
      timedOut,
      { type: 'recovery_started', requestId: 'glt-1', notAfter: T0 + 200_000 },
      ctx(T0 + 96_000),
    ).record;
  }

  const answer = (data: Record<string, unknown>, command = 'Purchase') =>
    result(
      1,
      { callback: 'onSuccess', responseData: { ...data, responseCommand: command } },
      'glt-1',
      'GetLastTransaction',
    );

  it.each([
    [
      'no transaction before, now this payment',
      none,
      responseData(undefined),
      'Purchase',
      'succeeded',
    ],
    [
      'an older transaction before, now a newer one',
      transaction('000123'),
      responseData(undefined, 'SUCCESS', '000124'),
      'Purchase',
      'succeeded',
    ],
    [
      'the baseline transaction itself',
      transaction('000124'),
      responseData(undefined, 'SUCCESS', '000124'),
      'Purchase',
      'in_doubt',
    ],
    [
      'a newer transaction of another amount',
      none,
      { ...responseData(undefined), paymentAmount: { value: '105', currency: 'KRW' } },
      'Purchase',
      'in_doubt',
    ],
    [
      'a newer transaction of another command',
      none,
      responseData(undefined),
      'PurchaseCancel',
      'in_doubt',
    ],
    [
      'a newer failure (it may be an older one)',
      none,
      responseData(undefined, 'PROCESS_FAIL'),
      'Purchase',
      'in_doubt',
    ],
    ['a baseline that could not be read', unknown, responseData(undefined), 'Purchase', 'in_doubt'],
    ['no baseline at all', undefined, responseData(undefined), 'Purchase', 'in_doubt'],
  ] as const)('%s: %s', (_label, baseline, data, command, phase) => {
    const step = stepCommand(
      recovering(baseline),
      { type: 'recovery_message', message: answer(data, command) },
      ctx(T0 + 97_000),
    );
    expect(step.record.lifecycle.phase).toBe(phase);
    expect(step.record.lifecycle.resolution).toBe(phase === 'succeeded' ? 'recovery' : null);
  });

  it('prefers the transaction recorded when the command took the device over the baseline', () => {
    expect(recoveryEvidence({ previousTransactionId: '000120', baseline: none })).toEqual({
      previousTransactionId: '000120',
    });
    expect(recoveryEvidence({ previousTransactionId: null, baseline: none })).toEqual({
      previousTransactionId: null,
    });
    expect(recoveryEvidence({ previousTransactionId: null, baseline: unknown })).toBeUndefined();
  });
});
