import { bridgeMessageToEdcEvent } from '@tillbus/protocols-kicc';
import type { EdcSettlementView } from '@tillbus/contracts';
import {
  edcDeviceVerdict,
  edcSettlementAgreement,
  edcSettlementRefusal,
} from '@tillbus/result-codes';
import type { Draft } from './draft';
import { maskFreeText } from './mask';
import type { BridgeTraffic } from './step';

/** What the operator sends: the outcome KICC confirmed, why, and who. */
export type SettlementInput = Pick<EdcSettlementView, 'outcome' | 'reason' | 'approval' | 'by'>;

/** The audit record of a settlement on the command record: the view shows it as stored (it holds nothing private). */
export type StoredSettlement = EdcSettlementView;

/** An operator settles a command in doubt: the lifecycle's `operator_resolved`, with its audit record. */
export function applySettlement(draft: Draft, input: SettlementInput): void {
  const life = draft.life;
  const refusal = edcSettlementRefusal(life);
  if (refusal) {
    draft.notes.push({ kind: 'not_in_doubt', reason: refusal });
    return;
  }
  const deviceLastSaid = {
    lastDeviceEvent: life.lastDeviceEvent?.code ?? null,
    unknownCause: life.unknownCause,
    recoveryAttempts: life.recoveryAttempts,
    recoveryReason: draft.record.recovery?.reason ?? null,
  };
  // an operator may paste what a customer said: no card number beyond the BIN is stored or published
  const reason = maskFreeText(input.reason);
  const approval = input.approval === undefined ? undefined : maskFreeText(input.approval);
  const verdict = input.outcome === 'SUCCESS' ? 'succeeded' : 'failed';
  if (!draft.apply({ type: 'operator_resolved', verdict, code: 'OPERATOR', at: draft.ctx.at }))
    return;
  draft.record.settlement = {
    ...input,
    reason,
    ...(approval === undefined ? {} : { approval }),
    at: draft.ctx.at,
    deviceLastSaid,
  };
  draft.notes.push({ kind: 'settled', outcome: input.outcome });
  draft.event({
    type: 'settlement',
    status: 'settled',
    outcome: input.outcome,
    reason,
  });
}

/**
 * A device result for a command an operator settled. One that agrees or says nothing is noted and dropped; one
 * that disagrees is kept on the record as a conflict, published, and raises its own alert. The settlement stands
 * either way: only a person can undo what a person decided.
 */
export function applyResultAfterSettlement(draft: Draft, message: BridgeTraffic): void {
  const settlement = draft.record.settlement;
  if (!settlement || message.type !== 'result') return;
  const event = bridgeMessageToEdcEvent(message, draft.ctx.at);
  const verdict = event ? edcDeviceVerdict(event, draft.record.commandName) : 'says_nothing';
  const agreement = edcSettlementAgreement(settlement.outcome, verdict);
  if (agreement !== 'conflict') {
    draft.notes.push({ kind: 'stale', reason: `a device result after settlement (${agreement})` });
    return;
  }
  if (settlement.conflict) return;
  const code =
    message.body.failure?.code ??
    (message.body.responseData?.result as { resultCode?: string } | undefined)?.resultCode ??
    null;
  draft.record.settlement = {
    ...settlement,
    conflict: { at: draft.ctx.at, verdict, callback: message.body.callback, code },
  };
  draft.changed = true;
  draft.notes.push({ kind: 'settlement_conflict' });
  draft.event({
    type: 'settlement',
    status: 'conflict',
    outcome: settlement.outcome,
    verdict,
    ...(code ? { code } : {}),
    reason: `the device reports ${verdict} after an operator settled the command as ${settlement.outcome}`,
  });
}
