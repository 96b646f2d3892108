import {
  matchLastTransaction,
  parseKiccCommandResponse,
  classifySeq,
  type GetLastTransactionResponse,
  type LastTransactionMatch,
  type MatchOptions,
} from '@tillbus/protocols-kicc';
import { recoveryEvidence } from './baseline';
import type { Draft } from './draft';
import type { StoredCommand } from './model';
import type { BridgeTraffic, StepContext } from './step';

/** Entering timed_out: the next GetLastTransaction may start after the backoff of this attempt. */
export function scheduleRecovery(draft: Draft): void {
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

export function recoveryFailed(draft: Draft, code: string): void {
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

/**
 * The bridge's journal says the command never reached it, and it can no longer start: nothing was charged. Only
 * trusted for a command accepted after the journal's horizon (a bridge that lost its store cannot know).
 */
export function applyJournalNotReceived(draft: Draft, journalSince: number): void {
  // the answer raced a result, a recovery attempt or another replica's write: not an anomaly
  if (draft.life.phase !== 'timed_out') {
    draft.notes.push({
      kind: 'stale',
      reason: 'a journal answer for a command no longer timed out',
    });
    return;
  }
  if (journalSince > draft.record.lifecycle.acceptedAt) {
    draft.notes.push({
      kind: 'stale',
      reason: 'the bridge journal starts after the command was accepted',
    });
    return;
  }
  const code = 'NOT_RECEIVED';
  if (!draft.apply({ type: 'not_started', code, at: draft.ctx.at })) return;
  const reason = 'the bridge journal never received the command; nothing was started';
  draft.record.recovery = {
    requestId: draft.record.recovery?.requestId ?? '',
    lastSeq: draft.record.recovery?.lastSeq ?? 0,
    notAfter: draft.record.recovery?.notAfter ?? 0,
    nextAt: null,
    offlineSince: null,
    reason,
  };
  draft.notes.push({ kind: 'recovery', result: 'failed', reason });
  draft.event({
    type: 'recovery',
    status: 'answered',
    attempt: draft.life.recoveryAttempts,
    verdict: 'failed',
    code,
    reason,
  });
}

export function applyRecoveryMessage(draft: Draft, message: BridgeTraffic): void {
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
  record: Pick<
    StoredCommand,
    'commandName' | 'requestId' | 'params' | 'previousTransactionId' | 'baseline'
  >,
  last: GetLastTransactionResponse,
  ctx: Pick<StepContext, 'withoutRequestId'>,
): LastTransactionMatch {
  const params = record.params as {
    paymentAmount: { value: string; currency: string };
    acquirerInfo?: { acquirerTerminalId?: string };
  };
  const evidence = recoveryEvidence(record);
  const options: MatchOptions =
    ctx.withoutRequestId === 'fresh-transaction' && evidence
      ? { acceptWithoutRequestId: evidence }
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
