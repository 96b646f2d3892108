import { describe, expect, it } from 'vitest';
import {
  EDC_CANCEL_PHASES,
  EDC_CANCEL_TIMEOUT_CODE,
  edcCancelOutcome,
  edcCancelTransition,
  type EdcCancelEvent,
  type EdcCancelPhase,
  type EdcCancelRecord,
} from './edc-cancel-lifecycle';

const T0 = 1_700_000_000_000;
const sent = (): EdcCancelRecord => ({
  phase: 'sent',
  code: null,
  deadlineAt: T0 + 5_000,
  finishedAt: null,
});

describe('EDC CommandCancel lifecycle', () => {
  it.each<[EdcCancelEvent, EdcCancelPhase, string | null]>([
    [{ type: 'result', succeeded: true, code: null, at: T0 + 1 }, 'succeeded', null],
    [
      { type: 'result', succeeded: false, code: 'CommandInvalid', at: T0 + 1 },
      'failed',
      'CommandInvalid',
    ],
    [{ type: 'bridge_refused', code: 'not_ready', at: T0 + 1 }, 'failed', 'not_ready'],
    [{ type: 'deadline_passed', at: T0 + 5_000 }, 'timed_out', EDC_CANCEL_TIMEOUT_CODE],
    [
      { type: 'target_settled', cancelled: true, phase: 'cancelled', at: T0 + 1 },
      'succeeded',
      null,
    ],
    [
      { type: 'target_settled', cancelled: false, phase: 'succeeded', at: T0 + 1 },
      'failed',
      'the command ended as succeeded',
    ],
  ])('%j closes a sent cancel as %s', (event, phase, code) => {
    const result = edcCancelTransition(sent(), event);
    expect(result).toEqual({
      ok: true,
      state: { ...sent(), phase, code, finishedAt: event.at },
    });
    // once closed, nothing moves it
    expect(edcCancelTransition(result.state, { type: 'deadline_passed', at: T0 + 9_000 }).ok).toBe(
      false,
    );
  });

  it('a timer before the deadline is stale', () => {
    expect(edcCancelTransition(sent(), { type: 'deadline_passed', at: T0 + 4_999 })).toEqual({
      ok: false,
      state: sent(),
      reason: 'deadline not reached: a stale timer',
    });
  });

  it('only sent waits; every closed phase has an outcome', () => {
    for (const phase of Object.keys(EDC_CANCEL_PHASES) as EdcCancelPhase[]) {
      expect(edcCancelOutcome(phase) === null).toBe(!EDC_CANCEL_PHASES[phase].final);
    }
    expect(edcCancelOutcome('timed_out')).toBe('RETRYABLE');
  });
});
