import { classifySeq } from '@tillbus/protocols-kicc';
import { cancelOutcome, type StoredCancel } from './model';
import type { CancelInput, Note, Step, StepContext } from './step';

/** A CommandCancel record: `sent` until its result, a refusal, its deadline or the end of its target says how it went. */
export function stepCancel(
  original: StoredCancel,
  input: CancelInput,
  ctx: StepContext,
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
