import { accept, refuse, type Transition } from './machine';
import type { Outcome } from './outcome';

/**
 * The life of a CommandCancel record in edc-command. The cancel acts on the running record (the `cancel_*` events
 * of edc-lifecycle); this record answers `get` and resubmits of the cancel itself. It is sent once, and its result,
 * a refusal, its deadline or the end of its target closes it.
 */
export const EDC_CANCEL_PHASES = {
  sent: { final: false, outcome: null, meaning: 'sent to the bridge; its deadline runs' },
  succeeded: {
    final: true,
    outcome: 'SUCCESS',
    meaning: 'the device confirmed it, or the command ended cancelled',
  },
  failed: {
    final: true,
    outcome: 'FAILED',
    meaning: 'the device or the bridge refused it, or the command ended otherwise',
  },
  timed_out: {
    final: true,
    outcome: 'RETRYABLE',
    meaning: 'no result before its deadline; sending it again is safe',
  },
} as const satisfies Record<string, { final: boolean; outcome: Outcome | null; meaning: string }>;

export type EdcCancelPhase = keyof typeof EDC_CANCEL_PHASES;

/** The KICC code a CommandCancel without a result by its deadline ends with. */
export const EDC_CANCEL_TIMEOUT_CODE = 'CommandResponseTimeout';

export interface EdcCancelRecord {
  phase: EdcCancelPhase;
  /** Why it did not succeed: the vendor's failure code, a bridge refusal, or how the command ended. */
  code: string | null;
  deadlineAt: number;
  finishedAt: number | null;
}

export type EdcCancelEvent =
  /** The device's result: `onSuccess`, or the failure code (or callback) of any other. */
  | { type: 'result'; succeeded: boolean; code: string | null; at: number }
  /** The bridge refused it without calling the SDK, or nobody listens for the device. */
  | { type: 'bridge_refused'; code: string; at: number }
  | { type: 'deadline_passed'; at: number }
  /** The command it acts on ended first: cancelled means it worked. */
  | { type: 'target_settled'; cancelled: boolean; phase: string; at: number };

function close<R extends EdcCancelRecord>(
  record: R,
  phase: Exclude<EdcCancelPhase, 'sent'>,
  code: string | null,
  at: number,
): Transition<R> {
  return accept({ ...record, phase, code, finishedAt: at });
}

/** Only a `sent` cancel moves; a closed one refuses every event. */
export function edcCancelTransition<R extends EdcCancelRecord>(
  record: R,
  event: EdcCancelEvent,
): Transition<R> {
  if (EDC_CANCEL_PHASES[record.phase].final) return refuse(record, `the cancel is ${record.phase}`);
  switch (event.type) {
    case 'result':
      return event.succeeded
        ? close(record, 'succeeded', null, event.at)
        : close(record, 'failed', event.code, event.at);
    case 'bridge_refused':
      return close(record, 'failed', event.code, event.at);
    case 'deadline_passed':
      if (event.at < record.deadlineAt)
        return refuse(record, 'deadline not reached: a stale timer');
      return close(record, 'timed_out', EDC_CANCEL_TIMEOUT_CODE, event.at);
    case 'target_settled':
      return event.cancelled
        ? close(record, 'succeeded', null, event.at)
        : close(record, 'failed', `the command ended as ${event.phase}`, event.at);
  }
}

/** The shared outcome of a cancel record: null while it waits for its result. */
export function edcCancelOutcome(phase: EdcCancelPhase): Outcome | null {
  return EDC_CANCEL_PHASES[phase].outcome;
}
