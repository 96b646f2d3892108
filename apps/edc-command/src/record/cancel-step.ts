import { classifySeq } from '@tillbus/protocols-kicc';
import {
  EDC_CANCEL_PHASES,
  edcCancelOutcome,
  edcCancelTransition,
  type EdcCancelEvent,
} from '@tillbus/result-codes';
import type { StoredCancel } from './model';
import type { CancelInput, Step, StepContext } from './step';

/**
 * A CommandCancel record: result-codes' `edcCancelTransition` closes it; this adds bridge `seq` and its outcome
 * event.
 */
export function stepCancel(
  original: StoredCancel,
  input: CancelInput,
  ctx: StepContext,
): Step<StoredCancel> {
  const unchanged: Step<StoredCancel> = { record: original, changed: false, notes: [] };
  // a closed cancel hears nothing more, not even a duplicate
  if (EDC_CANCEL_PHASES[original.phase].final) return unchanged;
  let record: StoredCancel = { ...original, outbox: [...original.outbox] };
  let event: EdcCancelEvent;
  if (input.type === 'bridge') {
    const message = input.message;
    if (classifySeq(record.lastSeq, message.seq) === 'duplicate') {
      return { ...unchanged, notes: [{ kind: 'duplicate' }] };
    }
    record.lastSeq = message.seq;
    if (message.type !== 'result') return { record, changed: true, notes: [] };
    const { callback, failure } = message.body;
    const succeeded = callback === 'onSuccess';
    event = {
      type: 'result',
      succeeded,
      code: succeeded ? null : (failure?.code ?? callback),
      at: ctx.at,
    };
  } else {
    event = cancelEvent(input, ctx.at);
  }
  const closed = edcCancelTransition(record, event);
  if (!closed.ok) return unchanged;
  record = { ...closed.state, updatedAt: ctx.at, eventSeq: record.eventSeq + 1 };
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
    outcome: edcCancelOutcome(record.phase),
    final: true,
    resolution: 'device',
    failure: record.code ? { type: 'command', code: record.code } : null,
  });
  return {
    record,
    changed: true,
    notes: [
      record.phase === 'succeeded'
        ? { kind: 'cancel', result: 'confirmed' }
        : { kind: 'cancel', result: 'refused', code: record.code ?? undefined },
    ],
  };
}

function cancelEvent(input: Exclude<CancelInput, { type: 'bridge' }>, at: number): EdcCancelEvent {
  switch (input.type) {
    case 'refused':
      return { type: 'bridge_refused', code: input.code, at };
    case 'deadline':
      return { type: 'deadline_passed', at };
    case 'target_settled':
      return { type: 'target_settled', cancelled: input.cancelled, phase: input.phase, at };
  }
}
