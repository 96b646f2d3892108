// Records and steps shared by the EDC lifecycle specs: every record is reached through real transitions.
import {
  EDC_PHASE_LIST,
  edcTransition,
  newEdcCommand,
  type EdcCommandRecord,
  type EdcEvent,
  type EdcEventKey,
  type EdcPhase,
} from '../edc-lifecycle';
import { type KiccEventCode } from '../kicc';

export const T0 = 1_700_000_000_000;
export const SMALL = { paymentAmount: { value: '104', currency: 'KRW' } };
export const LARGE = { paymentAmount: { value: '60000', currency: 'KRW' } };

export function step(record: EdcCommandRecord, event: EdcEvent): EdcCommandRecord {
  const result = edcTransition(record, event);
  if (!result.ok) throw new Error(`fixture step refused: ${result.reason}`);
  return result.state;
}

export const device = (code: KiccEventCode, at: number): EdcEvent => ({
  type: 'device_event',
  code,
  at,
});

/** A Purchase record in each phase, reached through real transitions. */
export function recordIn(phase: EdcPhase): EdcCommandRecord {
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

export const LATE = T0 + 10_000_000;

/** One event per table key, chosen so that the handler's own guards let it through. */
export function eventFor(key: EdcEventKey): EdcEvent {
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
    case 'not_started':
      return { type: 'not_started', code: 'NOT_RECEIVED', at };
    default:
      return device(key, at);
  }
}

export function fixture(phase: EdcPhase, key: EdcEventKey): EdcCommandRecord {
  const record = recordIn(phase);
  if (key === 'cancel_confirmed' || key === 'cancel_refused') {
    return { ...record, cancel: { status: 'pending', requestedAt: T0, code: null } };
  }
  return record;
}

export const PROGRESS_PHASES: EdcPhase[] = [
  'sent',
  'READY',
  'CARD_DETECTED',
  'CARD_READ_COMPLETED',
  'PENDING_SIGNATURE',
  'START_TRANSACTION',
];
export const IN_FLIGHT = PROGRESS_PHASES;
export const UNRESOLVED: EdcPhase[] = ['timed_out', 'recovering', 'in_doubt'];
export const same = (phases: EdcPhase[]) =>
  Object.fromEntries(phases.map((p) => [p, p])) as Partial<Record<EdcPhase, EdcPhase>>;
export const to = (phases: EdcPhase[], next: EdcPhase) =>
  Object.fromEntries(phases.map((p) => [p, next])) as Partial<Record<EdcPhase, EdcPhase>>;

export function progressTo(code: EdcPhase): Partial<Record<EdcPhase, EdcPhase>> {
  return {
    ...to(PROGRESS_PHASES.slice(0, PROGRESS_PHASES.indexOf(code) + 1), code),
    ...same(UNRESOLVED),
  };
}

/** The oracle: every allowed (phase, key) pair and the phase it leads to. Written out independently of the table. */
export const EXPECTED: Record<EdcEventKey, Partial<Record<EdcPhase, EdcPhase>>> = {
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
  not_started: { timed_out: 'failed' },
  operator_resolved: { in_doubt: 'failed' },
};

export const KEYS = Object.keys(EXPECTED) as EdcEventKey[];
export const PAIRS = EDC_PHASE_LIST.flatMap((phase) => KEYS.map((key) => [phase, key] as const));
export const ALLOWED = PAIRS.filter(([phase, key]) => EXPECTED[key][phase] !== undefined);
export const FORBIDDEN = PAIRS.filter(([phase, key]) => EXPECTED[key][phase] === undefined);
