import {
  bridgeMessageToEdcEvent,
  classifySeq,
  parseKiccCommandResponse,
} from '@tillbus/protocols-kicc';
import {
  edcOutcome,
  edcTransition,
  kiccCommandKind,
  type EdcCommandRecord,
  type EdcEvent,
} from '@tillbus/result-codes';
import { Draft } from './draft';
import { maskFreeText } from './mask';
import { isSettled, publicResult, type StoredCommand } from './model';
import {
  applyJournalNotReceived,
  applyRecoveryMessage,
  recoveryFailed,
  scheduleRecovery,
} from './recovery-step';
import { applyResultAfterSettlement, applySettlement } from './settlement';
import type { BridgeTraffic, CommandInput, Step, StepContext } from './step';

/** What one input does to a stored Purchase, PurchaseCancel or GetLastTransaction (see `step.ts`). */
export function stepCommand(
  original: StoredCommand,
  input: CommandInput,
  ctx: StepContext,
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
    case 'held':
      applyHeld(draft, input);
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
    case 'journal_not_received':
      applyJournalNotReceived(draft, input.journalSince);
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
    case 'operator_settle':
      applySettlement(draft, input.settlement);
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
  if (record.settlement) return applyResultAfterSettlement(draft, message);
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
  const { callback, responseData, failure } = message.body;
  if (!event || !draft.apply(event)) return;
  if (draft.life.phase === phaseBefore) return;
  if (responseData) record.result = readResult(draft, responseData, callback === 'onSuccess');
  if (failure?.message) record.failureMessage = maskFreeText(failure.message);
  if (draft.life.phase === 'timed_out') {
    draft.notes.push({ kind: 'timeout', cause: 'unknown_answer' });
    phaseEvent(
      draft,
      phaseBefore,
      `the answer does not say whether the payment went through (${failure?.code ?? ''})`,
    );
  }
}

/**
 * The seed's response schema keeps what it lists; an answer that does not fit is kept raw. Only a success is
 * noted as an anomaly: the schema describes successful answers, and a failure's responseData (a GetLastTransaction
 * on a device with no transaction yet, say) need not carry a responseCommand.
 */
function readResult(
  draft: Draft,
  responseData: Record<string, unknown>,
  success: boolean,
): Record<string, unknown> {
  try {
    return { ...parseKiccCommandResponse(draft.record.commandName, responseData) } as Record<
      string,
      unknown
    >;
  } catch (error) {
    if (!success) return responseData;
    draft.anomaly(
      `the device's responseData does not match the KICC result schema: ${(error as Error).message}`,
    );
    return responseData;
  }
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

/** Only the owner's own timers were held, and a settled command has none. */
function applyHeld(draft: Draft, input: Extract<CommandInput, { type: 'held' }>): void {
  if (draft.record.owner !== draft.ctx.replicaId || isSettled(draft.record)) return;
  const life = draft.life;
  const moved = (at: number | null, held: number | null) =>
    at !== null && at === held ? at + input.heldMs : at;
  const deadlineAt = moved(life.deadlineAt, input.deadlineAt);
  const countdownEndsAt = moved(life.countdownEndsAt, input.countdownEndsAt);
  if (deadlineAt === life.deadlineAt && countdownEndsAt === life.countdownEndsAt) return;
  draft.record.lifecycle = { ...life, deadlineAt, countdownEndsAt };
  draft.changed = true;
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
