import {
  KICC_SUCCESS_RESULT_CODE,
  kiccBusinessFailureOutcome,
  type EdcRecoveryVerdict,
} from '@tillbus/result-codes';
import type { GetLastTransactionResponse } from './command-schemas';

export interface LastTransactionMatch {
  verdict: EdcRecoveryVerdict;
  /** `result.resultCode` of the last transaction when it is ours. */
  code?: string;
  reason: string;
}

export interface CommandUnderRecovery {
  commandName: 'Purchase' | 'PurchaseCancel';
  requestId: string;
  paymentAmount: { value: string; currency: string };
  /** `acquirerInfo.acquirerTerminalId` the command was sent with, when it had one. */
  acquirerTerminalId?: string;
}

export interface MatchOptions {
  /**
   * The seed's GetLastTransaction sample carries no requestId, so an answer without one can only be matched on
   * evidence. Absent (the default), such an answer never settles anything. Given, an answer without requestId
   * counts as ours only when all of this holds:
   * - the same command, amount and currency (and terminal, when both name one);
   * - `result.resultCode` is SUCCESS;
   * - it carries an `acquirerTransactionId`, and that id is not `previousTransactionId`, the id of the last
   *   transaction the device completed before this command was sent; null when the device reported that it had
   *   no transaction before this command (then any transaction it reports now is newer).
   *
   * The caller must guarantee that nothing else ran on the device since then (edc-command holds the device lock
   * from dispatch to the end of recovery), so the device's last transaction is either ours or that previous one.
   * The previous payment of the same amount therefore cannot pass for this one. A failure without requestId is
   * never matched: it may be an older failure, and "failed" would invite a second charge.
   */
  acceptWithoutRequestId?: { previousTransactionId: string | null };
}

/** Reads a GetLastTransaction answer for the command a recovery is about. Only a proven match settles it. */
export function matchLastTransaction(
  command: CommandUnderRecovery,
  last: GetLastTransactionResponse,
  options: MatchOptions = {},
): LastTransactionMatch {
  if (last.responseCommand !== command.commandName) {
    return { verdict: 'inconclusive', reason: `the last transaction is a ${last.responseCommand}` };
  }
  if (last.requestId !== undefined && last.requestId !== command.requestId) {
    return { verdict: 'inconclusive', reason: 'the last transaction is another request' };
  }
  const code = last.result.resultCode;
  if (last.requestId === undefined) return matchWithoutRequestId(command, last, options);
  if (code === KICC_SUCCESS_RESULT_CODE)
    return { verdict: 'succeeded', code, reason: 'ours, succeeded' };
  if (kiccBusinessFailureOutcome(code, command.commandName) === 'UNKNOWN') {
    return { verdict: 'inconclusive', code, reason: 'ours, with a result that does not settle it' };
  }
  return { verdict: 'failed', code, reason: 'ours, failed' };
}

function matchWithoutRequestId(
  command: CommandUnderRecovery,
  last: GetLastTransactionResponse,
  options: MatchOptions,
): LastTransactionMatch {
  const sameAmount =
    last.paymentAmount.value === command.paymentAmount.value &&
    last.paymentAmount.currency === command.paymentAmount.currency;
  if (!sameAmount) {
    return { verdict: 'inconclusive', reason: 'the last transaction has another amount' };
  }
  const evidence = options.acceptWithoutRequestId;
  if (!evidence) {
    return { verdict: 'inconclusive', reason: 'the last transaction carries no requestId' };
  }
  const terminal = last.acquirerInfo.acquirerTerminalId;
  if (command.acquirerTerminalId && terminal && terminal !== command.acquirerTerminalId) {
    return {
      verdict: 'inconclusive',
      reason: 'the last transaction ran on another acquirer terminal',
    };
  }
  const code = last.result.resultCode;
  if (code !== KICC_SUCCESS_RESULT_CODE) {
    return {
      verdict: 'inconclusive',
      code,
      reason: 'a failure without requestId may be an older one',
    };
  }
  const transactionId = last.acquirerInfo.acquirerTransactionId;
  if (!transactionId) {
    return { verdict: 'inconclusive', reason: 'the last transaction has no acquirerTransactionId' };
  }
  if (evidence.previousTransactionId !== null && transactionId === evidence.previousTransactionId) {
    return {
      verdict: 'inconclusive',
      reason: 'the last transaction is the one before this command',
    };
  }
  return {
    verdict: 'succeeded',
    code,
    reason: "same command and amount, and a transaction newer than the device's previous one",
  };
}
