import {
  KICC_COMMAND_FAILURES,
  KICC_EVENT_CODES,
  KICC_TIMING,
  commandTimeoutMs,
  isKiccPhaseEventCode,
  kiccBusinessFailureOutcome,
  kiccCommandFailureOutcome,
  kiccCommandKind,
  kiccSuccessOutcome,
  paymentExpiryMs,
  type KiccCommandName,
  type KiccEventCode,
  type KiccNoticeEventCode,
  type KiccPhaseEventCode,
  type KiccTimeoutParams,
} from './kicc';
import { accept, refuse, type Transition } from './machine';
import type { Outcome } from './outcome';

/**
 * The life of one EDC command record (Purchase, PurchaseCancel or a stand-alone GetLastTransaction) in
 * edc-command. CommandCancel is not a record of its own: it acts on the running record (`cancel_*` events), and
 * the GetLastTransaction of a recovery is the `recovery_*` events of the record it recovers.
 *
 * Pure: every event carries the `at` (epoch ms) the caller observed it; deadlines in the record are computed from
 * it. The caller keeps one timer, at `deadlineAt`, and feeds `deadline_passed` when it fires.
 */
export const EDC_PHASES = {
  accepted: { final: false, meaning: 'recorded, not yet sent to the bridge' },
  sent: { final: false, meaning: 'published to the bridge; the command deadline runs' },
  READY: { final: false, meaning: 'device ready for a card; the card countdown runs' },
  CARD_DETECTED: { final: false, meaning: 'card inserted, not read yet' },
  CARD_READ_COMPLETED: { final: false, meaning: 'card read; CommandCancel is no longer allowed' },
  PENDING_SIGNATURE: { final: false, meaning: 'waiting for the signature; 20 s countdown' },
  START_TRANSACTION: { final: false, meaning: 'payment in progress at the acquirer' },
  timed_out: {
    final: false,
    meaning: 'no answer in time or the answer says nothing: the result is unknown',
  },
  recovering: { final: false, meaning: 'GetLastTransaction sent to learn the result' },
  in_doubt: {
    final: false,
    meaning: 'recovery could not tell; waits for a late result or an operator',
  },
  succeeded: { final: true, meaning: 'the device reported success' },
  failed: { final: true, meaning: 'the command failed; failure says how' },
  cancelled: { final: true, meaning: 'cancelled before the card was read, or before it was sent' },
} as const;

export type EdcPhase = keyof typeof EDC_PHASES;
export const EDC_PHASE_LIST = Object.keys(EDC_PHASES) as EdcPhase[];

/** Commands that get a lifecycle record. */
export type EdcRecordCommand = Exclude<KiccCommandName, 'CommandCancel'>;

/** Why a record reached `timed_out`. */
export type EdcUnknownCause = 'deadline' | 'bridge_lost' | 'unknown_answer';

export interface EdcFailure {
  /** `bridge`: the bridge refused the command before calling the SDK; `recovery`: GetLastTransaction said so. */
  type: 'command' | 'business' | 'bridge' | 'recovery' | 'operator';
  code: string;
}

/**
 * Why a command whose result was unknown is known not to have started (`not_started`): the bridge's own record says
 * the device never got it. Nothing was charged; the failure type is `bridge`, as for a refused dispatch.
 */
export const EDC_NOT_STARTED_CODES = {
  NOT_RECEIVED: {
    meaning:
      "the bridge's journal never held the command, and has closed its requestId so it cannot start later",
  },
} as const;
export type EdcNotStartedCode = keyof typeof EDC_NOT_STARTED_CODES;

export type EdcResolution = 'device' | 'late_device' | 'recovery' | 'operator' | 'cancel';

export interface EdcCommandRecord {
  phase: EdcPhase;
  commandName: EdcRecordCommand;
  /** The command's timeout (KICC default unless overridden at creation). */
  timeoutMs: number;
  /** The card countdown started by READY (`paymentExpiryTime`, default 30 s). */
  paymentExpiryMs: number;
  maxRecoveryAttempts: number;
  acceptedAt: number;
  sentAt: number | null;
  /** When the caller's one timer fires: the command deadline, or the GetLastTransaction deadline while recovering. */
  deadlineAt: number | null;
  /** The device's countdown shown to the customer (card wait or signature); null when stopped. */
  countdownEndsAt: number | null;
  lastDeviceEvent: { code: KiccEventCode; at: number } | null;
  /** Notice event codes (no phase change) seen for this command, with how often. */
  notices: Partial<Record<KiccNoticeEventCode, number>>;
  cancel: { status: 'pending' | 'refused'; requestedAt: number; code: string | null } | null;
  unknownCause: EdcUnknownCause | null;
  recoveryAttempts: number;
  failure: EdcFailure | null;
  resolution: EdcResolution | null;
  /** A success reported after the record had been closed as failed or cancelled: an operator must look. */
  contradicted: 'failed' | 'cancelled' | null;
  finishedAt: number | null;
}

export type EdcRecoveryVerdict = 'succeeded' | 'failed' | 'inconclusive';

export type EdcEvent =
  | { type: 'dispatched'; at: number }
  | { type: 'device_event'; code: KiccEventCode; at: number }
  /** SDK `onSuccess`; `resultCode` is `responseData.result.resultCode`. */
  | { type: 'onSuccess'; resultCode: string; at: number }
  | { type: 'onCommandFailed'; code: string; at: number }
  | { type: 'onBusinessFailed'; code: string; at: number }
  /** The bridge refused the command without calling the SDK (busy, expired, no bridge listening...). */
  | { type: 'bridge_refused'; code: string; at: number }
  | { type: 'deadline_passed'; at: number }
  | { type: 'bridge_lost'; at: number }
  | { type: 'cancel_requested'; at: number }
  | { type: 'cancel_confirmed'; at: number }
  | { type: 'cancel_refused'; code: string; at: number }
  | { type: 'recovery_started'; at: number }
  | { type: 'recovery_answer'; verdict: EdcRecoveryVerdict; code?: string; at: number }
  | { type: 'recovery_failed'; code: string; at: number }
  /** The bridge's journal (protocol v2) says the command never reached the device. */
  | { type: 'not_started'; code: EdcNotStartedCode; at: number }
  | { type: 'operator_resolved'; verdict: 'succeeded' | 'failed'; code?: string; at: number };

/** The table key of an event: a device event is keyed by its code, every other event by its type. */
export type EdcEventKey = Exclude<EdcEvent['type'], 'device_event'> | KiccEventCode;

export function edcEventKey(event: EdcEvent): EdcEventKey {
  return event.type === 'device_event' ? event.code : event.type;
}

export interface NewEdcCommand {
  commandName: EdcRecordCommand;
  params?: KiccTimeoutParams;
  now: number;
  /** Overrides the KICC default timeout, for a device configured with another one. */
  timeoutMs?: number;
  maxRecoveryAttempts?: number;
}

export const DEFAULT_MAX_RECOVERY_ATTEMPTS = 3;

export function newEdcCommand(input: NewEdcCommand): EdcCommandRecord {
  return {
    phase: 'accepted',
    commandName: input.commandName,
    timeoutMs: input.timeoutMs ?? commandTimeoutMs(input.commandName, input.params),
    paymentExpiryMs: paymentExpiryMs(input.params),
    maxRecoveryAttempts: input.maxRecoveryAttempts ?? DEFAULT_MAX_RECOVERY_ATTEMPTS,
    acceptedAt: input.now,
    sentAt: null,
    deadlineAt: null,
    countdownEndsAt: null,
    lastDeviceEvent: null,
    notices: {},
    cancel: null,
    unknownCause: null,
    recoveryAttempts: 0,
    failure: null,
    resolution: null,
    contradicted: null,
    finishedAt: null,
  };
}

export type EdcHandler = (
  record: EdcCommandRecord,
  event: EdcEvent,
) => Transition<EdcCommandRecord>;

const DEVICE_PHASES = [
  'READY',
  'CARD_DETECTED',
  'CARD_READ_COMPLETED',
  'PENDING_SIGNATURE',
  'START_TRANSACTION',
] as const satisfies readonly KiccPhaseEventCode[];

/** The order of progress; a device event may skip phases (an event lost on the way) but never go back. */
const PROGRESS: readonly EdcPhase[] = ['sent', ...DEVICE_PHASES];

/** The device is working on the command: the command deadline runs and its traffic moves the record. */
export const EDC_IN_FLIGHT_PHASES: readonly EdcPhase[] = PROGRESS;
/** CommandCancel may still stop the command: KICC refuses it once the card has been read. */
export const EDC_BEFORE_CARD_READ_PHASES: readonly EdcPhase[] = ['sent', 'READY', 'CARD_DETECTED'];
const IN_FLIGHT = EDC_IN_FLIGHT_PHASES;
const BEFORE_CARD_READ = EDC_BEFORE_CARD_READ_PHASES;
const AFTER_CARD_READ: readonly EdcPhase[] = [
  'CARD_READ_COMPLETED',
  'PENDING_SIGNATURE',
  'START_TRANSACTION',
];
const UNRESOLVED: readonly EdcPhase[] = ['timed_out', 'recovering', 'in_doubt'];
const CLOSED_UNSUCCESSFUL: readonly EdcPhase[] = ['failed', 'cancelled'];

const NOTICE_CODES = (Object.keys(KICC_EVENT_CODES) as KiccEventCode[]).filter(
  (code): code is KiccNoticeEventCode => !isKiccPhaseEventCode(code),
);

function recordDeviceEvent(record: EdcCommandRecord, event: EdcEvent): EdcCommandRecord {
  if (event.type !== 'device_event') return record;
  const next = { ...record, lastDeviceEvent: { code: event.code, at: event.at } };
  if (!isKiccPhaseEventCode(event.code)) {
    next.notices = { ...record.notices, [event.code]: (record.notices[event.code] ?? 0) + 1 };
  }
  return next;
}

function finish(
  record: EdcCommandRecord,
  phase: 'succeeded' | 'failed' | 'cancelled',
  event: EdcEvent,
  resolution: EdcResolution,
  failure: EdcFailure | null,
): EdcCommandRecord {
  return {
    ...record,
    phase,
    failure,
    resolution,
    deadlineAt: null,
    countdownEndsAt: null,
    finishedAt: event.at,
  };
}

function toUnknown(record: EdcCommandRecord, cause: EdcUnknownCause): EdcCommandRecord {
  return {
    ...record,
    phase: 'timed_out',
    unknownCause: cause,
    deadlineAt: null,
    countdownEndsAt: null,
  };
}

const dispatch: EdcHandler = (record, event) =>
  accept({ ...record, phase: 'sent', sentAt: event.at, deadlineAt: event.at + record.timeoutMs });

const progress: EdcHandler = (record, event) => {
  if (event.type !== 'device_event' || !isKiccPhaseEventCode(event.code)) {
    return refuse(record, 'not a phase event');
  }
  const code = event.code;
  const next = recordDeviceEvent({ ...record, phase: code }, event);
  const countdown = KICC_EVENT_CODES[code].countdown;
  if (countdown === 'start') next.countdownEndsAt = event.at + record.paymentExpiryMs;
  if (countdown === 'stop') next.countdownEndsAt = null;
  if (countdown === 'restart-signature') {
    const signatureEndsAt = event.at + KICC_TIMING.pendingSignatureSeconds * 1000;
    next.countdownEndsAt = signatureEndsAt;
    // the customer must get the whole 20 s to sign before the service gives up on the command
    next.deadlineAt = Math.max(record.deadlineAt ?? signatureEndsAt, signatureEndsAt);
  }
  return accept(next);
};

const notice: EdcHandler = (record, event) => accept(recordDeviceEvent(record, event));

/** A device event that reaches a record whose result is unknown: the device is still working on it. */
const lateDeviceEvent: EdcHandler = notice;

const onSuccess: EdcHandler = (record, event) => {
  if (event.type !== 'onSuccess') return refuse(record, 'not onSuccess');
  const outcome = kiccSuccessOutcome(event.resultCode, record.commandName);
  if (outcome !== 'SUCCESS') {
    return failure(record, { type: 'business', code: event.resultCode }, outcome, event);
  }
  if (record.phase === 'succeeded') return accept(record);
  if (record.resolution === 'operator') return refuse(record, CONFLICT_WITH_SETTLEMENT);
  const late = UNRESOLVED.includes(record.phase) || CLOSED_UNSUCCESSFUL.includes(record.phase);
  const contradicted =
    record.phase === 'failed' || record.phase === 'cancelled' ? record.phase : record.contradicted;
  return accept({
    ...finish(record, 'succeeded', event, late ? 'late_device' : 'device', null),
    contradicted,
  });
};

function failure(
  record: EdcCommandRecord,
  detail: EdcFailure,
  outcome: Outcome,
  event: EdcEvent,
): Transition<EdcCommandRecord> {
  if (record.phase === 'succeeded') return refuse(record, CONFLICT_AFTER_SUCCESS);
  if (CLOSED_UNSUCCESSFUL.includes(record.phase)) return accept(record);
  if (outcome === 'UNKNOWN') {
    // an answer that does not say whether money moved leaves an unresolved record as it is
    return accept(UNRESOLVED.includes(record.phase) ? record : toUnknown(record, 'unknown_answer'));
  }
  const late = UNRESOLVED.includes(record.phase);
  return accept(finish(record, 'failed', event, late ? 'late_device' : 'device', detail));
}

const onCommandFailed: EdcHandler = (record, event) => {
  if (event.type !== 'onCommandFailed') return refuse(record, 'not onCommandFailed');
  const outcome = kiccCommandFailureOutcome(event.code, record.commandName);
  return failure(record, { type: 'command', code: event.code }, outcome, event);
};

const onBusinessFailed: EdcHandler = (record, event) => {
  if (event.type !== 'onBusinessFailed') return refuse(record, 'not onBusinessFailed');
  const outcome = kiccBusinessFailureOutcome(event.code, record.commandName);
  return failure(record, { type: 'business', code: event.code }, outcome, event);
};

const bridgeRefused: EdcHandler = (record, event) => {
  if (event.type !== 'bridge_refused') return refuse(record, 'not bridge_refused');
  return accept(finish(record, 'failed', event, 'device', { type: 'bridge', code: event.code }));
};

const deadlinePassed: EdcHandler = (record, event) => {
  if (record.deadlineAt === null || event.at < record.deadlineAt) {
    return refuse(record, 'deadline not reached: a stale timer');
  }
  if (record.phase === 'recovering') return recoveryFailed(record, event);
  return accept(toUnknown(record, 'deadline'));
};

const bridgeLost: EdcHandler = (record, event) => {
  if (record.phase === 'recovering') return recoveryFailed(record, event);
  return accept(toUnknown(record, 'bridge_lost'));
};

const cancelBeforeSending: EdcHandler = (record, event) =>
  accept(finish(record, 'cancelled', event, 'cancel', null));

const cancelRequested: EdcHandler = (record, event) => {
  if (record.cancel?.status === 'pending')
    return refuse(record, 'a CommandCancel is already pending');
  return accept({ ...record, cancel: { status: 'pending', requestedAt: event.at, code: null } });
};

const cancelConfirmed: EdcHandler = (record, event) => {
  if (record.cancel?.status !== 'pending') return refuse(record, 'no CommandCancel is pending');
  return accept(finish(record, 'cancelled', event, 'cancel', null));
};

const cancelRefused: EdcHandler = (record, event) => {
  if (event.type !== 'cancel_refused') return refuse(record, 'not cancel_refused');
  if (record.cancel?.status !== 'pending') return refuse(record, 'no CommandCancel is pending');
  return accept({ ...record, cancel: { ...record.cancel, status: 'refused', code: event.code } });
};

const recoveryStarted: EdcHandler = (record, event) => {
  if (kiccCommandKind(record.commandName) !== 'payment') {
    return refuse(
      record,
      `${record.commandName} is safe to repeat: retry it instead of recovering`,
    );
  }
  return accept({
    ...record,
    phase: 'recovering',
    recoveryAttempts: record.recoveryAttempts + 1,
    deadlineAt: event.at + commandTimeoutMs('GetLastTransaction'),
  });
};

const recoveryAnswer: EdcHandler = (record, event) => {
  if (event.type !== 'recovery_answer') return refuse(record, 'not recovery_answer');
  if (event.verdict === 'succeeded')
    return accept(finish(record, 'succeeded', event, 'recovery', null));
  if (event.verdict === 'failed') {
    return accept(
      finish(record, 'failed', event, 'recovery', {
        type: 'recovery',
        code: event.code ?? 'UNKNOWN',
      }),
    );
  }
  return accept({ ...record, phase: 'in_doubt', deadlineAt: null });
};

const recoveryFailed: EdcHandler = (record) => {
  const exhausted = record.recoveryAttempts >= record.maxRecoveryAttempts;
  return accept({ ...record, phase: exhausted ? 'in_doubt' : 'timed_out', deadlineAt: null });
};

const notStarted: EdcHandler = (record, event) => {
  if (event.type !== 'not_started') return refuse(record, 'not not_started');
  return accept(finish(record, 'failed', event, 'recovery', { type: 'bridge', code: event.code }));
};

const operatorResolved: EdcHandler = (record, event) => {
  if (event.type !== 'operator_resolved') return refuse(record, 'not operator_resolved');
  if (event.verdict === 'succeeded')
    return accept(finish(record, 'succeeded', event, 'operator', null));
  return accept(
    finish(record, 'failed', event, 'operator', {
      type: 'operator',
      code: event.code ?? 'OPERATOR',
    }),
  );
};

function rows(
  phases: readonly EdcPhase[],
  handler: EdcHandler,
): Partial<Record<EdcPhase, EdcHandler>> {
  return Object.fromEntries(phases.map((phase) => [phase, handler]));
}

function progressRows(code: KiccPhaseEventCode): Partial<Record<EdcPhase, EdcHandler>> {
  const reachable = PROGRESS.slice(0, PROGRESS.indexOf(code) + 1);
  return { ...rows(reachable, progress), ...rows(UNRESOLVED, lateDeviceEvent) };
}

/**
 * THE table: for each event key, the phases it is allowed in and what it does there. Any (phase, key) pair not
 * listed is refused.
 */
export const EDC_TRANSITIONS: Record<EdcEventKey, Partial<Record<EdcPhase, EdcHandler>>> = {
  dispatched: { accepted: dispatch },
  READY: progressRows('READY'),
  CARD_DETECTED: progressRows('CARD_DETECTED'),
  CARD_READ_COMPLETED: progressRows('CARD_READ_COMPLETED'),
  PENDING_SIGNATURE: progressRows('PENDING_SIGNATURE'),
  START_TRANSACTION: progressRows('START_TRANSACTION'),
  ...(Object.fromEntries(
    NOTICE_CODES.map((code) => [code, rows([...IN_FLIGHT, ...UNRESOLVED], notice)]),
  ) as Record<KiccNoticeEventCode, Partial<Record<EdcPhase, EdcHandler>>>),
  onSuccess: rows([...IN_FLIGHT, ...UNRESOLVED, 'succeeded', ...CLOSED_UNSUCCESSFUL], onSuccess),
  onCommandFailed: rows([...IN_FLIGHT, ...UNRESOLVED, ...CLOSED_UNSUCCESSFUL], onCommandFailed),
  onBusinessFailed: rows([...IN_FLIGHT, ...UNRESOLVED, ...CLOSED_UNSUCCESSFUL], onBusinessFailed),
  bridge_refused: { sent: bridgeRefused },
  deadline_passed: rows([...IN_FLIGHT, 'recovering'], deadlinePassed),
  bridge_lost: rows([...IN_FLIGHT, 'recovering'], bridgeLost),
  cancel_requested: { accepted: cancelBeforeSending, ...rows(BEFORE_CARD_READ, cancelRequested) },
  cancel_confirmed: rows([...IN_FLIGHT, ...UNRESOLVED], cancelConfirmed),
  cancel_refused: rows(
    [...IN_FLIGHT, ...UNRESOLVED, 'succeeded', ...CLOSED_UNSUCCESSFUL],
    cancelRefused,
  ),
  recovery_started: { timed_out: recoveryStarted },
  recovery_answer: { recovering: recoveryAnswer },
  recovery_failed: { recovering: recoveryFailed },
  not_started: { timed_out: notStarted },
  operator_resolved: { in_doubt: operatorResolved },
};

/** Refusals that carry the vendor's own words instead of the generic reason. */
const CONFLICT_AFTER_SUCCESS =
  'conflict: a failure reported after success; the success stands and an operator must look';

const CONFLICT_WITH_SETTLEMENT =
  'conflict: the device reports success after an operator settled the command as failed; the settlement stands and an operator must look';

export const EDC_REFUSAL_REASONS: Partial<Record<EdcEventKey, Partial<Record<EdcPhase, string>>>> =
  {
    cancel_requested: Object.fromEntries(
      AFTER_CARD_READ.map((phase) => [
        phase,
        `CommandInvalid: ${KICC_COMMAND_FAILURES.CommandInvalid.meaning}; CommandCancel can only be used before reading the card and initiating a payment`,
      ]),
    ),
    ...Object.fromEntries(
      DEVICE_PHASES.map((code) => [
        code,
        Object.fromEntries(
          PROGRESS.slice(PROGRESS.indexOf(code) + 1).map((phase) => [
            phase,
            `device went back from ${phase} to ${code}`,
          ]),
        ),
      ]),
    ),
    onCommandFailed: { succeeded: CONFLICT_AFTER_SUCCESS },
    onBusinessFailed: { succeeded: CONFLICT_AFTER_SUCCESS },
  };

export function edcTransition(
  record: EdcCommandRecord,
  event: EdcEvent,
): Transition<EdcCommandRecord> {
  const key = edcEventKey(event);
  const handler = EDC_TRANSITIONS[key]?.[record.phase];
  if (!handler) {
    return refuse(
      record,
      EDC_REFUSAL_REASONS[key]?.[record.phase] ?? `${key} is not allowed in ${record.phase}`,
    );
  }
  return handler(record, event);
}

/** The shared outcome of a record: null while it is still in flight or recovering. */
export function edcOutcome(record: EdcCommandRecord): Outcome | null {
  switch (record.phase) {
    case 'succeeded':
      return 'SUCCESS';
    case 'cancelled':
      return 'FAILED';
    case 'failed': {
      const failure = record.failure;
      if (failure?.type === 'command')
        return kiccCommandFailureOutcome(failure.code, record.commandName);
      if (failure?.type === 'business')
        return kiccBusinessFailureOutcome(failure.code, record.commandName);
      return 'FAILED';
    }
    case 'timed_out':
      return kiccCommandKind(record.commandName) === 'payment' ? 'UNKNOWN' : 'RETRYABLE';
    case 'in_doubt':
      return 'UNKNOWN';
    default:
      return null;
  }
}

export function isEdcInFlight(phase: EdcPhase): boolean {
  return IN_FLIGHT.includes(phase);
}

/**
 * The record has an outcome that ends the command for now: final, in doubt, or a timed-out query (a control
 * command is safe to repeat, so it is not recovered).
 */
export function isEdcSettled(record: EdcCommandRecord): boolean {
  if (EDC_PHASES[record.phase].final || record.phase === 'in_doubt') return true;
  return record.phase === 'timed_out' && kiccCommandKind(record.commandName) === 'control';
}

/** When `deadline_passed` is due: the record's deadline, in the phases where the table lets it pass. */
export function edcDeadlineDue(record: EdcCommandRecord): number | null {
  return record.deadlineAt !== null && EDC_TRANSITIONS.deadline_passed[record.phase]
    ? record.deadlineAt
    : null;
}

/** When the card countdown shown to the customer ends before the card is read, with no CommandCancel yet. */
export function edcCardCountdownDue(record: EdcCommandRecord): number | null {
  if (record.cancel !== null) return null;
  return record.phase === 'READY' || record.phase === 'CARD_DETECTED'
    ? record.countdownEndsAt
    : null;
}
