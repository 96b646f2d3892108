import { describe, expect, it } from 'vitest';
import { stepCancel } from './cancel-step';
import type { StoredCancel } from './model';
import { ctx, result, T0 } from './test/step-fixtures';

describe('stepCancel', () => {
  const cancel = (): StoredCancel => ({
    v: 1,
    kind: 'cancel',
    deviceId: 'edc-1',
    requestId: 'c-1',
    commandName: 'CommandCancel',
    createdAt: T0,
    updatedAt: T0,
    owner: 'r1',
    paramsHash: 'h',
    targetRequestId: 'req-1',
    phase: 'sent',
    code: null,
    deadlineAt: T0 + 5_000,
    notAfter: T0 + 10_000,
    lastSeq: 0,
    finishedAt: null,
    auto: false,
    eventSeq: 0,
    outbox: [],
  });

  it.each([
    [
      {
        type: 'bridge' as const,
        message: result(1, { callback: 'onSuccess', responseData: {} }, 'c-1', 'CommandCancel'),
      },
      'succeeded',
      'SUCCESS',
    ],
    [
      {
        type: 'bridge' as const,
        message: result(
          1,
          { callback: 'onCommandFailed', failure: { code: 'CommandInvalid' } },
          'c-1',
          'CommandCancel',
        ),
      },
      'failed',
      'FAILED',
    ],
    [{ type: 'refused' as const, code: 'not_running' }, 'failed', 'FAILED'],
    [{ type: 'deadline' as const }, 'timed_out', 'RETRYABLE'],
    [
      { type: 'target_settled' as const, cancelled: true, phase: 'cancelled' },
      'succeeded',
      'SUCCESS',
    ],
  ])('%j ends it as %s', (input, phase, outcome) => {
    const step = stepCancel(cancel(), input, ctx(T0 + 5_000));
    expect(step.record.phase).toBe(phase);
    expect(step.record.outbox).toEqual([
      expect.objectContaining({ type: 'outcome', outcome, final: true }),
    ]);
    // once over, nothing changes it
    expect(stepCancel(step.record, { type: 'deadline' }, ctx(T0 + 9_000)).changed).toBe(false);
  });

  it('waits for its deadline', () => {
    expect(stepCancel(cancel(), { type: 'deadline' }, ctx(T0 + 4_999)).changed).toBe(false);
  });
});
