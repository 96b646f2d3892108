import type { EdcPublicEvent } from '@tillbus/contracts';
import {
  bridgeMessageToEdcEvent,
  classifySeq,
  matchLastTransaction,
  parseKiccCommandResponse,
  redactKiccResult,
  type BridgeEvent,
  type BridgeResult,
  type GetLastTransactionResponse,
  type LastTransactionMatch,
  type MatchOptions,
} from '@tillbus/protocols-kicc';
import {
  edcOutcome,
  edcTransition,
  kiccCommandKind,
  type EdcCommandRecord,
  type EdcEvent,
  type EdcUnknownCause,
} from '@tillbus/result-codes';
import {
  cancelOutcome,
  isSettled,
  publicResult,
  type StoredCancel,
  type StoredCommand,
} from './model';

/**
 * The pure core of edc-command: what one input does to a stored command, which public events it causes, and
 * notes for metrics and logs. The lifecycle itself is result-codes' `edcTransition`; this adds bridge `seq`,
 * results, recovery bookkeeping and events. The engine runs these steps inside KV compare-and-set, so a step may
 * run again on a fresher record and must depend on nothing but its arguments.
 */
export interface MachineContext {
  at: number;
  replicaId: string;
  withoutRequestId: 'fresh-transaction' | 'never';
  /** Delay before recovery attempt n (1-based), the last value repeating. */
  recoveryBackoffMs: number[];
}

export type BridgeTraffic = BridgeEvent | BridgeResult;

export type CommandInput =
  | { type: 'bridge'; message: BridgeTraffic }
  /** The bridge refused the command before calling the SDK, or nobody listens on its subject. */
  | { type: 'refused'; code: string }
  | { type: 'deadline' }
  | { type: 'bridge_lost' }
  /** Recovery waits: the next attempt may start at `nextAt`. */
  | { type: 'recovery_wait'; nextAt: number; offlineSince: number | null }
  | { type: 'recovery_started'; requestId: string; notAfter: number }
  | { type: 'recovery_message'; message: BridgeTraffic }
  | { type: 'recovery_refused'; requestId: string; code: string }
  | { type: 'cancel_requested'; cancelRequestId: string }
  | { type: 'cancel_result'; cancelRequestId: string; confirmed: boolean; code?: string }
  | { type: 'take_over' };

export type Note =
  | { kind: 'duplicate' }
  | { kind: 'gap' }
  | { kind: 'refused'; reason: string }
  | { kind: 'not_cancellable'; reason: string }
  | { kind: 'timeout'; cause: EdcUnknownCause }
  | { kind: 'recovery'; result: 'succeeded' | 'failed' | 'in_doubt' | 'retry'; reason: string }
  | { kind: 'cancel'; result: 'confirmed' | 'refused'; code?: string }
  | { kind: 'late_result' }
  | { kind: 'contradicted' }
  | { kind: 'stale'; reason: string };

export interface Step<T> {
  record: T;
  changed: boolean;
  notes: Note[];
}

const MAX_ANOMALIES = 20;

class Draft {
  readonly notes: Note[] = [];
  changed = false;
  readonly record: StoredCommand;

  constructor(
    original: StoredCommand,
    readonly ctx: MachineContext,
  ) {
    this.record = { ...original, outbox: [...original.outbox], anomalies: [...original.anomalies] };
  }

  get life(): EdcCommandRecord {
    return this.record.lifecycle;
  }

  apply(event: EdcEvent): boolean {
    const result = edcTransition(this.record.lifecycle, event);
    if (!result.ok) {
      this.anomaly(result.reason);
      return false;
    }
    if (result.state !== this.record.lifecycle) {
      this.record.lifecycle = result.state;
      this.changed = true;
    }
    return true;
  }

  anomaly(reason: string): void {
    this.notes.push({ kind: 'refused', reason });
    if (!this.record.anomalies.includes(reason)) {
      this.record.anomalies = [...this.record.anomalies, reason].slice(-MAX_ANOMALIES);
      this.changed = true;
    }
  }

  event(
    part: Omit<
      EdcPublicEvent,
      'v' | 'seq' | 'at' | 'deviceId' | 'requestId' | 'commandName' | 'phase'
    >,
  ): void {
    const r = this.record;
    r.eventSeq += 1;
    r.outbox.push({
      v: 1,
      seq: r.eventSeq,
      at: this.ctx.at,
      deviceId: r.deviceId,
      requestId: r.requestId,
      commandName: r.commandName,
      phase: r.lifecycle.phase,
      ...part,
    });
    this.changed = true;
  }
}

export function stepCommand(
  original: StoredCommand,
  input: CommandInput,
  ctx: MachineContext,
): Step<StoredCommand> {
  const draft = new Draft(original, ctx);
  const before = original.lifecycle;
  switch (input.type) {
    case 'bridge':
      applyBridge(draft, input.message);
      break;
    case 'refused':
      if (draft.apply({ type: 'bridge_refused', code: input.code, at: ctx.at }))
        draft.changed = true;
      break;
    case 'deadline':
      applyDeadline(draft);
      break;
    case 'bridge_lost':
      if (draft.apply({ type: 'bridge_lost', at: ctx.at })) {
        draft.notes.push({ kind: 'timeout', cause: 'bridge_lost' });
        phaseEvent(draft, before.phase, 'the bridge stopped sending heartbeats');
      }
      break;
    case 'recovery_wait': {
      const recovery = draft.record.recovery;
      if (draft.life.phase !== 'timed_out' || !recovery) break;
      if (recovery.nextAt === input.nextAt && recovery.offlineSince === input.offlineSince) break;
      draft.record.recovery = {
        ...recovery,
        nextAt: input.nextAt,
        offlineSince: input.offlineSince,
      };
      draft.changed = true;
      break;
    }
    case 'recovery_started':
      if (draft.apply({ type: 'recovery_started', at: ctx.at })) {
        draft.record.recovery = {
          requestId: input.requestId,
          lastSeq: 0,
          notAfter: input.notAfter,
          nextAt: null,
          offlineSince: draft.record.recovery?.offlineSince ?? null,
        };
        draft.event({ type: 'recovery', status: 'started', attempt: draft.life.recoveryAttempts });
      }
      break;
    case 'recovery_message':
      applyRecoveryMessage(draft, input.message);
      break;
    case 'recovery_refused':
      if (
        draft.life.phase !== 'recovering' ||
        draft.record.recovery?.requestId !== input.requestId
      ) {
        draft.notes.push({ kind: 'stale', reason: 'a refusal for an earlier recovery attempt' });
        break;
      }
      recoveryFailed(draft, input.code);
      break;
    case 'cancel_requested': {
      // a refusal here is an answer to the POS (CommandInvalid after the card was read), not an anomaly
      const result = edcTransition(draft.life, { type: 'cancel_requested', at: ctx.at });
      if (!result.ok) {
        draft.notes.push({ kind: 'not_cancellable', reason: result.reason });
        break;
      }
      draft.record.lifecycle = result.state;
      draft.changed = true;
      draft.record.cancelRequestId = input.cancelRequestId;
      draft.event({ type: 'cancel', status: 'requested' });
      break;
    }
    case 'cancel_result':
      applyCancelResult(draft, input);
      break;
    case 'take_over':
      break;
  }
  finishStep(draft, before, input.type === 'take_over');
  return { record: draft.record, changed: draft.changed, notes: draft.notes };
}

function finishStep(draft: Draft, before: EdcCommandRecord, takeOver: boolean): void {
  const record = draft.record;
  const after = record.lifecycle;
  // whoever changes a command runs its timers from now on
  if (draft.changed || (takeOver && record.owner !== draft.ctx.replicaId)) {
    record.owner = draft.ctx.replicaId;
    record.updatedAt = draft.ctx.at;
    draft.changed = true;
  }
  const entersTimedOut = after.phase === 'timed_out' && before.phase !== 'timed_out';
  if (entersTimedOut && kiccCommandKind(record.commandName) === 'payment') {
    scheduleRecovery(draft);
  }
  const wasSettled = isSettled({ ...record, lifecycle: before });
  if (isSettled(record) && (!wasSettled || before.phase !== after.phase)) {
    const late = after.resolution === 'late_device' && wasSettled;
    if (after.contradicted && after.contradicted !== before.contradicted)
      draft.notes.push({ kind: 'contradicted' });
    if (late) draft.notes.push({ kind: 'late_result' });
    draft.event({
      type: 'outcome',
      previousPhase: before.phase,
      outcome: edcOutcome(after),
      final: after.phase === 'succeeded' || after.phase === 'failed' || after.phase === 'cancelled',
      resolution: after.resolution,
      failure: after.failure,
      ...(record.failureMessage && after.failure ? { message: record.failureMessage } : {}),
      ...(after.unknownCause && !after.resolution
        ? { reason: record.recovery?.reason ?? after.unknownCause }
        : {}),
      ...(late ? { late: true } : {}),
      ...(record.result ? { result: publicResult(record.result) } : {}),
    });
  }
}

function scheduleRecovery(draft: Draft): void {
  const attempts = draft.life.recoveryAttempts;
  const backoff = draft.ctx.recoveryBackoffMs;
  const delay = backoff[Math.min(attempts, backoff.length - 1)] ?? 0;
  const previous = draft.record.recovery;
  draft.record.recovery = {
    requestId: previous?.requestId ?? '',
    lastSeq: previous?.lastSeq ?? 0,
    notAfter: previous?.notAfter ?? 0,
    nextAt: draft.ctx.at + delay,
    offlineSince: previous?.offlineSince ?? null,
  };
}

function phaseEvent(draft: Draft, previousPhase: string, reason: string): void {
  if (isSettled(draft.record)) return;
  draft.event({ type: 'phase', previousPhase, reason });
}

function applyBridge(draft: Draft, message: BridgeTraffic): void {
  const record = draft.record;
  if (message.commandName !== record.commandName) {
    draft.anomaly(`the bridge reported ${message.commandName} traffic for a ${record.commandName}`);
    return;
  }
  const order = classifySeq(record.lastSeq, message.seq);
  if (order === 'duplicate') {
    draft.notes.push({ kind: 'duplicate' });
    return;
  }
  if (order === 'gap') {
    record.gaps += 1;
    draft.notes.push({ kind: 'gap' });
  }
  record.lastSeq = message.seq;
  draft.changed = true;
  const event = bridgeMessageToEdcEvent(message, draft.ctx.at);
  if (message.type === 'event') {
    if (event) draft.apply(event);
    draft.event({
      type: 'device_event',
      code: message.body.code,
      ...(message.body.message ? { message: message.body.message } : {}),
    });
    return;
  }
  const phaseBefore = draft.life.phase;
  const { responseData, failure } = message.body;
  if (!event || !draft.apply(event)) return;
  if (draft.life.phase === phaseBefore) return;
  if (responseData) record.result = readResult(draft, responseData);
  if (failure?.message) record.failureMessage = mask(failure.message);
  if (draft.life.phase === 'timed_out') {
    draft.notes.push({ kind: 'timeout', cause: 'unknown_answer' });
    phaseEvent(
      draft,
      phaseBefore,
      `the answer does not say whether the payment went through (${failure?.code ?? ''})`,
    );
  }
}

/** The seed's response schema keeps what it lists; an answer that does not fit is kept raw and noted. */
function readResult(draft: Draft, responseData: Record<string, unknown>): Record<string, unknown> {
  try {
    return { ...parseKiccCommandResponse(draft.record.commandName, responseData) } as Record<
      string,
      unknown
    >;
  } catch (error) {
    draft.anomaly(
      `the device's responseData does not match the KICC result schema: ${(error as Error).message}`,
    );
    return responseData;
  }
}

function mask(text: string): string {
  return String((redactKiccResult({ message: text }) as { message?: unknown }).message ?? '').slice(
    0,
    512,
  );
}

function applyDeadline(draft: Draft): void {
  const phase = draft.life.phase;
  if (phase === 'recovering') {
    const result = edcTransition(draft.life, { type: 'deadline_passed', at: draft.ctx.at });
    if (!result.ok) return;
    recoveryFailed(draft, 'no answer to GetLastTransaction');
    return;
  }
  const result = edcTransition(draft.life, { type: 'deadline_passed', at: draft.ctx.at });
  // a stale timer: the deadline moved (PENDING_SIGNATURE) or the command is over
  if (!result.ok) return;
  draft.record.lifecycle = result.state;
  draft.changed = true;
  draft.notes.push({ kind: 'timeout', cause: 'deadline' });
  phaseEvent(draft, phase, 'no result before the command deadline');
}

function recoveryFailed(draft: Draft, code: string): void {
  if (!draft.apply({ type: 'recovery_failed', code, at: draft.ctx.at })) return;
  const phase = draft.life.phase;
  const reason = `GetLastTransaction attempt ${draft.life.recoveryAttempts} failed: ${code}`;
  if (draft.record.recovery) draft.record.recovery = { ...draft.record.recovery, reason };
  draft.notes.push({
    kind: 'recovery',
    result: phase === 'in_doubt' ? 'in_doubt' : 'retry',
    reason,
  });
  draft.event({
    type: 'recovery',
    status: 'failed',
    attempt: draft.life.recoveryAttempts,
    code,
    reason,
  });
}

function applyRecoveryMessage(draft: Draft, message: BridgeTraffic): void {
  const record = draft.record;
  const recovery = record.recovery;
  if (draft.life.phase !== 'recovering' || !recovery || recovery.requestId !== message.requestId) {
    draft.notes.push({
      kind: 'stale',
      reason: 'GetLastTransaction traffic for an attempt that is over',
    });
    return;
  }
  if (classifySeq(recovery.lastSeq, message.seq) === 'duplicate') {
    draft.notes.push({ kind: 'duplicate' });
    return;
  }
  record.recovery = { ...recovery, lastSeq: message.seq };
  draft.changed = true;
  if (message.type !== 'result') return;
  const { callback, responseData, failure } = message.body;
  if (callback !== 'onSuccess' || !responseData) {
    recoveryFailed(draft, failure?.code ?? callback);
    return;
  }
  let last: GetLastTransactionResponse;
  try {
    last = parseKiccCommandResponse('GetLastTransaction', responseData);
  } catch (error) {
    recoveryFailed(draft, `unreadable answer (${(error as Error).message.slice(0, 120)})`);
    return;
  }
  const match = matchRecovery(record, last, draft.ctx);
  if (
    !draft.apply({
      type: 'recovery_answer',
      verdict: match.verdict,
      code: match.code,
      at: draft.ctx.at,
    })
  )
    return;
  record.recovery = { ...record.recovery!, reason: match.reason };
  if (match.verdict === 'succeeded') {
    const { responseCommand: _command, ...data } = last as unknown as Record<string, unknown>;
    void _command;
    record.result = { requestId: record.requestId, ...data };
  }
  const result = match.verdict === 'inconclusive' ? 'in_doubt' : match.verdict;
  draft.notes.push({ kind: 'recovery', result, reason: match.reason });
  draft.event({
    type: 'recovery',
    status: 'answered',
    attempt: draft.life.recoveryAttempts,
    verdict: match.verdict,
    reason: match.reason,
    ...(match.code ? { code: match.code } : {}),
  });
}

export function matchRecovery(
  record: StoredCommand,
  last: GetLastTransactionResponse,
  ctx: Pick<MachineContext, 'withoutRequestId'>,
): LastTransactionMatch {
  const params = record.params as {
    paymentAmount: { value: string; currency: string };
    acquirerInfo?: { acquirerTerminalId?: string };
  };
  const options: MatchOptions =
    ctx.withoutRequestId === 'fresh-transaction' && record.previousTransactionId
      ? { acceptWithoutRequestId: { previousTransactionId: record.previousTransactionId } }
      : {};
  return matchLastTransaction(
    {
      commandName: record.commandName as 'Purchase' | 'PurchaseCancel',
      requestId: record.requestId,
      paymentAmount: params.paymentAmount,
      acquirerTerminalId: params.acquirerInfo?.acquirerTerminalId,
    },
    last,
    options,
  );
}

function applyCancelResult(
  draft: Draft,
  input: Extract<CommandInput, { type: 'cancel_result' }>,
): void {
  if (draft.record.cancelRequestId !== input.cancelRequestId) {
    draft.notes.push({ kind: 'stale', reason: 'a CommandCancel result for another cancel' });
    return;
  }
  const event: EdcEvent = input.confirmed
    ? { type: 'cancel_confirmed', at: draft.ctx.at }
    : { type: 'cancel_refused', code: input.code ?? 'refused', at: draft.ctx.at };
  const result = edcTransition(draft.life, event);
  // the command ended on its own first: the cancel has nothing left to say about it
  if (!result.ok) return;
  draft.record.lifecycle = result.state;
  draft.changed = true;
  draft.notes.push(
    input.confirmed
      ? { kind: 'cancel', result: 'confirmed' }
      : { kind: 'cancel', result: 'refused', code: input.code },
  );
  if (!input.confirmed)
    draft.event({ type: 'cancel', status: 'refused', code: input.code ?? 'refused' });
}

// ---------------------------------------------------------------- CommandCancel records

export type CancelInput =
  | { type: 'bridge'; message: BridgeTraffic }
  | { type: 'refused'; code: string }
  | { type: 'deadline' }
  /** The target ended: a pending cancel learns from it whether it worked. */
  | { type: 'target_settled'; cancelled: boolean; phase: string };

export function stepCancel(
  original: StoredCancel,
  input: CancelInput,
  ctx: MachineContext,
): Step<StoredCancel> {
  const record: StoredCancel = { ...original, outbox: [...original.outbox] };
  const notes: Note[] = [];
  if (record.phase !== 'sent') return { record: original, changed: false, notes };
  switch (input.type) {
    case 'bridge': {
      const message = input.message;
      if (classifySeq(record.lastSeq, message.seq) === 'duplicate') {
        return { record: original, changed: false, notes: [{ kind: 'duplicate' }] };
      }
      record.lastSeq = message.seq;
      if (message.type !== 'result') return { record, changed: true, notes };
      const ok = message.body.callback === 'onSuccess';
      record.phase = ok ? 'succeeded' : 'failed';
      record.code = ok ? null : (message.body.failure?.code ?? message.body.callback);
      break;
    }
    case 'refused':
      record.phase = 'failed';
      record.code = input.code;
      break;
    case 'deadline':
      if (ctx.at < record.deadlineAt) return { record: original, changed: false, notes };
      record.phase = 'timed_out';
      record.code = 'CommandResponseTimeout';
      break;
    case 'target_settled':
      record.phase = input.cancelled ? 'succeeded' : 'failed';
      record.code = input.cancelled ? null : `the command ended as ${input.phase}`;
      break;
  }
  record.finishedAt = ctx.at;
  record.updatedAt = ctx.at;
  record.eventSeq += 1;
  record.outbox.push({
    v: 1,
    seq: record.eventSeq,
    at: ctx.at,
    deviceId: record.deviceId,
    requestId: record.requestId,
    commandName: 'CommandCancel',
    type: 'outcome',
    phase: record.phase,
    previousPhase: 'sent',
    outcome: cancelOutcome(record),
    final: true,
    resolution: 'device',
    failure: record.code ? { type: 'command', code: record.code } : null,
  });
  notes.push(
    record.phase === 'succeeded'
      ? { kind: 'cancel', result: 'confirmed' }
      : { kind: 'cancel', result: 'refused', code: record.code ?? undefined },
  );
  return { record, changed: true, notes };
}
