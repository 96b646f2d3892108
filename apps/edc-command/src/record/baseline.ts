import { isKiccCommandName, kiccCommandKind } from '@tillbus/result-codes';
import type { StoredCommand } from './model';

/**
 * The device's last transaction as a GetLastTransaction read it right before a Purchase or PurchaseCancel was sent,
 * when edc-command did not know it. It is the evidence that lets a later answer without requestId settle a lost
 * result: a transaction that differs from the baseline and matches the command is the command's.
 */
export type LastTransactionBaseline = { requestId: string; at: number } & (
  | { kind: 'transaction'; transactionId: string }
  /** The device answered that it has no transaction: whatever it reports later is newer. */
  | { kind: 'none'; code: string }
  | { kind: 'unknown'; reason: string }
);

/**
 * GetLastTransaction business failures that mean "this device has no transaction yet". The seed names no such
 * code; PROCESS_FAIL is what the device (and the simulator) answers then. Any other failure proves nothing.
 */
export const NO_LAST_TRANSACTION_CODES: readonly string[] = ['PROCESS_FAIL'];

/** A payment needs a baseline when the device's previous transaction is not known. */
export function needsBaseline(commandName: string, previousTransactionId: string | null): boolean {
  return (
    isKiccCommandName(commandName) &&
    kiccCommandKind(commandName) === 'payment' &&
    !previousTransactionId
  );
}

/** Reads the baseline from the stand-alone GetLastTransaction that asked for it (null: no record or no answer). */
export function baselineOf(
  requestId: string,
  query: StoredCommand | null,
  at: number,
): LastTransactionBaseline {
  const base = { requestId, at };
  const life = query?.lifecycle;
  if (!query || !life) return { ...base, kind: 'unknown', reason: 'no answer' };
  if (life.phase === 'succeeded') {
    const acquirerInfo = query.result?.acquirerInfo as
      { acquirerTransactionId?: unknown } | undefined;
    const transactionId = acquirerInfo?.acquirerTransactionId;
    if (typeof transactionId === 'string' && transactionId)
      return { ...base, kind: 'transaction', transactionId };
    return {
      ...base,
      kind: 'unknown',
      reason: 'the last transaction has no acquirerTransactionId',
    };
  }
  const failure = life.failure;
  if (life.phase === 'failed' && failure?.type === 'business') {
    if (NO_LAST_TRANSACTION_CODES.includes(failure.code))
      return { ...base, kind: 'none', code: failure.code };
    return { ...base, kind: 'unknown', reason: `GetLastTransaction failed: ${failure.code}` };
  }
  if (life.phase === 'failed' || life.phase === 'timed_out')
    return {
      ...base,
      kind: 'unknown',
      reason: `GetLastTransaction ${life.phase}${failure ? `: ${failure.code}` : ''}`,
    };
  return { ...base, kind: 'unknown', reason: 'no answer in time' };
}

/**
 * What the device's last transaction was before this command: the id recorded when the command took the device,
 * else the baseline read before it was sent. Undefined: not known, so an answer without requestId settles nothing.
 */
export function recoveryEvidence(
  record: Pick<StoredCommand, 'previousTransactionId' | 'baseline'>,
): { previousTransactionId: string | null } | undefined {
  if (record.previousTransactionId) return { previousTransactionId: record.previousTransactionId };
  const baseline = record.baseline;
  if (baseline?.kind === 'transaction') return { previousTransactionId: baseline.transactionId };
  if (baseline?.kind === 'none') return { previousTransactionId: null };
  return undefined;
}
