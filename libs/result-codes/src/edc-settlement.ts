import type { EdcCommandRecord, EdcEvent } from './edc-lifecycle';
import {
  kiccBusinessFailureOutcome,
  kiccCommandFailureOutcome,
  kiccSuccessOutcome,
  type KiccCommandName,
} from './kicc';
import type { Outcome } from './outcome';

/**
 * An operator's settlement of a command in doubt (`operator_resolved` in the lifecycle table), and what a device
 * result that arrives after it means.
 */
export const EDC_SETTLEMENT_OUTCOMES = ['SUCCESS', 'FAILED'] as const;
export type EdcSettlementOutcome = (typeof EDC_SETTLEMENT_OUTCOMES)[number];

export function isEdcSettlementOutcome(value: unknown): value is EdcSettlementOutcome {
  return EDC_SETTLEMENT_OUTCOMES.includes(value as EdcSettlementOutcome);
}

/** Why an operator may not settle this command, or null when it may (only a command in doubt). */
export function edcSettlementRefusal(record: Pick<EdcCommandRecord, 'phase'>): string | null {
  if (record.phase === 'in_doubt') return null;
  return `the command is ${record.phase}, not in doubt: only a command in doubt can be settled`;
}

/** What a device result says about the money: a late result after a settlement is read with this. */
export type EdcDeviceVerdict = 'succeeded' | 'failed' | 'says_nothing';

const VERDICT_OF_OUTCOME: Record<Outcome, EdcDeviceVerdict> = {
  SUCCESS: 'succeeded',
  FAILED: 'failed',
  // nothing ran: no money moved
  CONFIG_ERROR: 'failed',
  RETRYABLE: 'says_nothing',
  UNKNOWN: 'says_nothing',
};

export function edcDeviceVerdict(event: EdcEvent, commandName: KiccCommandName): EdcDeviceVerdict {
  switch (event.type) {
    case 'onSuccess':
      return VERDICT_OF_OUTCOME[kiccSuccessOutcome(event.resultCode, commandName)];
    case 'onCommandFailed':
      return VERDICT_OF_OUTCOME[kiccCommandFailureOutcome(event.code, commandName)];
    case 'onBusinessFailed':
      return VERDICT_OF_OUTCOME[kiccBusinessFailureOutcome(event.code, commandName)];
    default:
      return 'says_nothing';
  }
}

export type EdcSettlementAgreement = 'agrees' | 'conflict' | 'says_nothing';

/** THE table: a settled outcome against what the device said later. */
export const EDC_SETTLEMENT_AGREEMENT: Record<
  EdcSettlementOutcome,
  Record<EdcDeviceVerdict, EdcSettlementAgreement>
> = {
  SUCCESS: { succeeded: 'agrees', failed: 'conflict', says_nothing: 'says_nothing' },
  FAILED: { succeeded: 'conflict', failed: 'agrees', says_nothing: 'says_nothing' },
};

export function edcSettlementAgreement(
  settled: EdcSettlementOutcome,
  verdict: EdcDeviceVerdict,
): EdcSettlementAgreement {
  return EDC_SETTLEMENT_AGREEMENT[settled][verdict];
}
