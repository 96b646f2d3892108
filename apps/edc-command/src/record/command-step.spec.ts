import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KiccEventCode } from '@tillbus/result-codes';
import { stepCommand } from './command-step';
import type { StoredCommand } from './model';
import type { CommandInput } from './step';
import {
  ctx,
  event,
  META,
  purchaseRecord,
  responseData,
  result,
  SIGN,
  T0,
} from './test/step-fixtures';

function run(record: StoredCommand, inputs: CommandInput[], at = T0 + 1_000): StoredCommand {
  let current = record;
  for (const input of inputs) {
    const step = stepCommand({ ...current, outbox: [] }, input, ctx(at));
    current = step.record;
  }
  return current;
}

describe('stepCommand: bridge traffic', () => {
  it('applies events in seq order, drops duplicates, notes gaps, and publishes every device event', () => {
    let record = purchaseRecord();
    const ready = stepCommand(record, { type: 'bridge', message: event(1, 'READY') }, ctx());
    expect(ready.changed).toBe(true);
    expect(ready.record.lifecycle.phase).toBe('READY');
    expect(ready.record.outbox).toEqual([
      expect.objectContaining({ type: 'device_event', code: 'READY', phase: 'READY', seq: 2 }),
    ]);
    record = ready.record;
    const duplicate = stepCommand(record, { type: 'bridge', message: event(1, 'READY') }, ctx());
    expect(duplicate).toMatchObject({ changed: false, notes: [{ kind: 'duplicate' }] });
    const gap = stepCommand(
      record,
      { type: 'bridge', message: event(3, 'CARD_READ_COMPLETED') },
      ctx(),
    );
    expect(gap.record).toMatchObject({
      lastSeq: 3,
      gaps: 1,
      lifecycle: { phase: 'CARD_READ_COMPLETED' },
    });
    expect(gap.notes).toContainEqual({ kind: 'gap' });
  });

  it('takes the command over: whoever changes it runs its timers', () => {
    const step = stepCommand(
      purchaseRecord({ owner: 'r0' }),
      { type: 'bridge', message: event(1, 'READY') },
      ctx(),
    );
    expect(step.record.owner).toBe('r1');
    const noop = stepCommand(step.record, { type: 'deadline' }, { ...ctx(), replicaId: 'r2' });
    expect(noop).toMatchObject({ changed: false });
    expect(noop.record.owner).toBe('r1');
  });

  it('keeps the result privately and publishes the outcome without acquirerMetaData or signData', () => {
    const record = run(purchaseRecord(), [
      { type: 'bridge', message: event(1, 'READY') },
      { type: 'bridge', message: event(2, 'START_TRANSACTION') },
    ]);
    const done = stepCommand(
      record,
      {
        type: 'bridge',
        message: result(3, { callback: 'onSuccess', responseData: responseData('req-1') }),
      },
      ctx(),
    );
    expect(done.record.lifecycle.phase).toBe('succeeded');
    expect(done.record.result).toMatchObject({
      acquirerInfo: { acquirerMetaData: META, signData: SIGN },
    });
    const outcome = done.record.outbox.find((e) => e.type === 'outcome')!;
    expect(outcome).toMatchObject({
      outcome: 'SUCCESS',
      final: true,
      resolution: 'device',
      phase: 'succeeded',
    });
    expect(outcome.result).toMatchObject({
      paymentResultInfo: { cardBin: '52364979' },
      acquirerInfo: { acquirerApprovalNum: '16263485' },
    });
    expect(JSON.stringify(done.record.outbox)).not.toContain(META);
    expect(JSON.stringify(done.record.outbox)).not.toContain(SIGN);
    expect(outcome.result!.paymentResultInfo).not.toHaveProperty('paymentMethodId');
  });

  it('masks a card number quoted in a failure message', () => {
    const done = stepCommand(
      purchaseRecord(),
      {
        type: 'bridge',
        message: result(1, {
          callback: 'onBusinessFailed',
          failure: { code: 'INVALID_CARD_NUMBER', message: 'card 4111-1111-1111-1111 refused' },
        }),
      },
      ctx(),
    );
    expect(done.record.failureMessage).toBe('card [redacted] refused');
    expect(JSON.stringify(done.record)).not.toContain('4111');
  });

  it('turns an answer that says nothing about the money into timed_out, due for recovery at once', () => {
    const step = stepCommand(
      purchaseRecord(),
      {
        type: 'bridge',
        message: result(1, {
          callback: 'onCommandFailed',
          failure: { code: 'CommandResponseTimeout' },
        }),
      },
      ctx(T0 + 500),
    );
    expect(step.record.lifecycle).toMatchObject({
      phase: 'timed_out',
      unknownCause: 'unknown_answer',
    });
    expect(step.record.recovery?.nextAt).toBe(T0 + 500);
    expect(step.notes).toContainEqual({ kind: 'timeout', cause: 'unknown_answer' });
    expect(step.record.outbox.map((e) => e.type)).toEqual(['phase']);
  });

  it.each([
    ['a failure whose responseData is not a success answer: no anomaly', 'onBusinessFailed', 0],
    ['a success whose responseData does not fit the schema: an anomaly', 'onSuccess', 1],
  ])('%s', (_name, callback, anomalies) => {
    const answer = { requestId: 'glt-1', result: { resultCode: 'PROCESS_FAIL' } };
    const done = run(purchaseRecord({ commandName: 'GetLastTransaction', requestId: 'glt-1' }), [
      {
        type: 'bridge',
        message: result(
          1,
          { callback, failure: { code: 'PROCESS_FAIL' }, responseData: answer },
          'glt-1',
          'GetLastTransaction',
        ),
      },
    ]);
    expect(done.lifecycle.phase).not.toBe('sent');
    expect(done.anomalies).toHaveLength(anomalies);
    expect(done.result).toMatchObject(answer);
  });

  it('records a refused transition as an anomaly (a failure after success) and keeps the success', () => {
    const done = run(purchaseRecord(), [
      {
        type: 'bridge',
        message: result(1, { callback: 'onSuccess', responseData: responseData('req-1') }),
      },
    ]);
    const conflict = stepCommand(
      done,
      {
        type: 'bridge',
        message: result(2, { callback: 'onBusinessFailed', failure: { code: 'PROCESS_FAIL' } }),
      },
      ctx(),
    );
    expect(conflict.record.lifecycle.phase).toBe('succeeded');
    expect(conflict.record.anomalies[0]).toContain('conflict');
    expect(conflict.notes).toContainEqual(expect.objectContaining({ kind: 'refused' }));
  });
});

describe('stepCommand: deadlines and recovery', () => {
  const timedOut = () =>
    stepCommand(purchaseRecord(), { type: 'deadline' }, ctx(T0 + 95_000)).record;

  it('ignores a timer that fires early, and times out at the deadline', () => {
    expect(stepCommand(purchaseRecord(), { type: 'deadline' }, ctx(T0 + 94_999)).changed).toBe(
      false,
    );
    const record = timedOut();
    expect(record.lifecycle).toMatchObject({ phase: 'timed_out', unknownCause: 'deadline' });
    expect(record.outbox).toEqual([
      expect.objectContaining({ type: 'phase', phase: 'timed_out', previousPhase: 'sent' }),
    ]);
  });

  it('moves a held deadline and countdown on by the hold, only where they are still the ones held', () => {
    const ready = stepCommand(
      purchaseRecord({ owner: 'r1' }),
      { type: 'bridge', message: event(1, 'READY') },
      ctx(),
    ).record;
    const { deadlineAt, countdownEndsAt } = ready.lifecycle;
    const held = { type: 'held', heldMs: 30_000, deadlineAt, countdownEndsAt } as const;
    const moved = stepCommand(ready, held, ctx()).record.lifecycle;
    expect(moved).toMatchObject({
      phase: 'READY',
      deadlineAt: deadlineAt! + 30_000,
      countdownEndsAt: countdownEndsAt! + 30_000,
    });
    // run again (a CAS retry on the moved record): nothing moves twice
    const again = stepCommand({ ...ready, lifecycle: moved }, held, ctx());
    expect(again.changed).toBe(false);
    // a countdown a message set during the hold is fresh: it stays
    const fresh = { ...ready, lifecycle: { ...ready.lifecycle, countdownEndsAt: T0 + 99_000 } };
    expect(stepCommand(fresh, held, ctx()).record.lifecycle.countdownEndsAt).toBe(T0 + 99_000);
    // another replica's command is not this replica's to move
    expect(stepCommand({ ...ready, owner: 'r2' }, held, ctx()).changed).toBe(false);
  });

  function recovering(previousTransactionId: string | null = null) {
    return stepCommand(
      { ...timedOut(), previousTransactionId },
      { type: 'recovery_started', requestId: 'glt-1', notAfter: T0 + 200_000 },
      ctx(T0 + 96_000),
    ).record;
  }

  const answer = (data: Record<string, unknown>) =>
    result(
      1,
      { callback: 'onSuccess', responseData: { responseCommand: 'Purchase', ...data } },
      'glt-1',
      'GetLastTransaction',
    );

  it.each([
    ['the same requestId, SUCCESS', responseData('req-1'), null, 'succeeded'],
    [
      'the same requestId, declined',
      responseData('req-1', 'USER_BALANCE_NOT_ENOUGH'),
      null,
      'failed',
    ],
    ['another requestId', responseData('req-0'), '000123', 'in_doubt'],
    ['no requestId, previous transaction unknown', responseData(undefined), null, 'in_doubt'],
    [
      'no requestId, the previous transaction itself',
      responseData(undefined, 'SUCCESS', '000123'),
      '000123',
      'in_doubt',
    ],
    [
      'no requestId, a newer transaction',
      responseData(undefined, 'SUCCESS', '000124'),
      '000123',
      'succeeded',
    ],
    [
      'no requestId, a newer failure',
      responseData(undefined, 'PROCESS_FAIL', '000124'),
      '000123',
      'in_doubt',
    ],
  ] as const)(
    'reads a GetLastTransaction answer with %s as %s',
    (_label, data, previous, phase) => {
      const step = stepCommand(
        recovering(previous),
        { type: 'recovery_message', message: answer(data) },
        ctx(T0 + 97_000),
      );
      expect(step.record.lifecycle.phase).toBe(phase);
      if (phase === 'succeeded') {
        expect(step.record.result).toMatchObject({
          requestId: 'req-1',
          acquirerInfo: { acquirerMetaData: META },
        });
        expect(step.record.result).not.toHaveProperty('responseCommand');
      }
      if (phase === 'in_doubt') {
        expect(step.record.outbox.at(-1)).toMatchObject({
          type: 'outcome',
          outcome: 'UNKNOWN',
          final: false,
        });
      }
    },
  );

  it('never settles with the "never" policy without a requestId', () => {
    const step = stepCommand(
      recovering('000123'),
      { type: 'recovery_message', message: answer(responseData(undefined, 'SUCCESS', '000124')) },
      { ...ctx(T0 + 97_000), withoutRequestId: 'never' },
    );
    expect(step.record.lifecycle.phase).toBe('in_doubt');
  });

  it('retries a failed attempt after the backoff, then is in doubt', () => {
    let record = recovering();
    record = stepCommand(
      record,
      { type: 'recovery_refused', requestId: 'glt-1', code: 'busy' },
      ctx(T0 + 96_100),
    ).record;
    expect(record.lifecycle.phase).toBe('timed_out');
    expect(record.recovery?.nextAt).toBe(T0 + 96_100 + 10_000);
    for (let attempt = 2; attempt <= 3; attempt++) {
      record = stepCommand(
        record,
        { type: 'recovery_started', requestId: `glt-${attempt}`, notAfter: T0 + 300_000 },
        ctx(T0 + 110_000 * attempt),
      ).record;
      record = stepCommand(
        record,
        { type: 'deadline' },
        ctx(T0 + 110_000 * attempt + 5_000),
      ).record;
    }
    expect(record.lifecycle).toMatchObject({ phase: 'in_doubt', recoveryAttempts: 3 });
  });

  it('ignores traffic of an earlier attempt', () => {
    const step = stepCommand(
      recovering(),
      { type: 'recovery_refused', requestId: 'glt-0', code: 'busy' },
      ctx(),
    );
    expect(step).toMatchObject({ changed: false, notes: [{ kind: 'stale' }] });
  });

  it('reconciles a late result after in doubt, flagged late', () => {
    const inDoubt = stepCommand(
      recovering(),
      { type: 'recovery_message', message: answer(responseData(undefined)) },
      ctx(T0 + 97_000),
    ).record;
    const late = stepCommand(
      { ...inDoubt, outbox: [] },
      {
        type: 'bridge',
        message: result(6, { callback: 'onSuccess', responseData: responseData('req-1') }),
      },
      ctx(T0 + 200_000),
    );
    expect(late.record.lifecycle).toMatchObject({ phase: 'succeeded', resolution: 'late_device' });
    expect(late.notes).toContainEqual({ kind: 'late_result' });
    expect(late.record.outbox.at(-1)).toMatchObject({
      type: 'outcome',
      late: true,
      outcome: 'SUCCESS',
    });
  });
});

describe('stepCommand: CommandCancel', () => {
  it('records the request before the card is read and refuses it after, without an anomaly', () => {
    const ready = run(purchaseRecord(), [{ type: 'bridge', message: event(1, 'READY') }]);
    const requested = stepCommand(
      ready,
      { type: 'cancel_requested', cancelRequestId: 'c-1' },
      ctx(),
    );
    expect(requested.record).toMatchObject({
      cancelRequestId: 'c-1',
      lifecycle: { cancel: { status: 'pending' } },
    });
    const confirmed = stepCommand(
      requested.record,
      { type: 'cancel_result', cancelRequestId: 'c-1', confirmed: true },
      ctx(),
    );
    expect(confirmed.record.lifecycle.phase).toBe('cancelled');
    const read = run(purchaseRecord(), [
      { type: 'bridge', message: event(1, 'CARD_READ_COMPLETED') },
    ]);
    const refused = stepCommand(read, { type: 'cancel_requested', cancelRequestId: 'c-2' }, ctx());
    expect(refused.changed).toBe(false);
    expect(refused.notes[0]).toMatchObject({
      kind: 'not_cancellable',
      reason: expect.stringMatching(/^CommandInvalid: /),
    });
    expect(refused.record.anomalies).toEqual([]);
  });
});

describe('properties', () => {
  const codes: KiccEventCode[] = [
    'READY',
    'CARD_DETECTED',
    'CARD_READ_COMPLETED',
    'PENDING_SIGNATURE',
    'START_TRANSACTION',
    'CANCELLING',
    'CARD_TRY_AGAIN',
  ];
  const input: fc.Arbitrary<CommandInput> = fc.oneof(
    fc
      .record({ seq: fc.integer({ min: 1, max: 12 }), code: fc.constantFrom(...codes) })
      .map(({ seq, code }) => ({ type: 'bridge' as const, message: event(seq, code) })),
    fc
      .record({
        seq: fc.integer({ min: 1, max: 12 }),
        ok: fc.boolean(),
        rid: fc.constantFrom('req-1', undefined),
      })
      .map(({ seq, ok, rid }) => ({
        type: 'bridge' as const,
        message: result(
          seq,
          ok
            ? { callback: 'onSuccess', responseData: responseData(rid) }
            : { callback: 'onCommandFailed', failure: { code: 'CommandResponseTimeout' } },
        ),
      })),
    fc.constant({ type: 'deadline' as const }),
    fc.constant({ type: 'bridge_lost' as const }),
    fc.constant({
      type: 'recovery_started' as const,
      requestId: 'glt-1',
      notAfter: T0 + 10_000_000,
    }),
    fc.constant({
      type: 'recovery_message' as const,
      message: result(
        1,
        {
          callback: 'onSuccess',
          responseData: { responseCommand: 'Purchase', ...responseData(undefined) },
        },
        'glt-1',
        'GetLastTransaction',
      ),
    }),
    fc.constant({ type: 'cancel_requested' as const, cancelRequestId: 'c-1' }),
    fc.constant({ type: 'cancel_result' as const, cancelRequestId: 'c-1', confirmed: true }),
  );

  it('never throws, never publishes a private field, and never leaves succeeded', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(input, fc.integer({ min: 0, max: 200_000 })), { maxLength: 25 }),
        (steps) => {
          let record = purchaseRecord();
          let at = T0;
          for (const [next, delta] of steps) {
            at += delta;
            const wasSucceeded = record.lifecycle.phase === 'succeeded';
            const step = stepCommand({ ...record, outbox: [] }, next, ctx(at));
            const published = JSON.stringify(step.record.outbox);
            expect(published).not.toContain(META);
            expect(published).not.toContain(SIGN);
            if (wasSucceeded) expect(step.record.lifecycle.phase).toBe('succeeded');
            expect(step.record.eventSeq).toBeGreaterThanOrEqual(record.eventSeq);
            record = step.record;
          }
        },
      ),
    );
  });
});
