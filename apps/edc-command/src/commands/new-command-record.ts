import { edcTransition, newEdcCommand, type EdcRecordCommand } from '@tillbus/result-codes';
import type { EdcCommandConfig } from '../config';
import type { SubmitCommandRequest } from '@tillbus/contracts/dto';
import { RECORD_VERSION, type StoredCommand } from '../record/model';

/** A new command record, already `sent`: it is written just before the command goes to the bridge. */
export function newCommandRecord(
  config: EdcCommandConfig,
  request: SubmitCommandRequest,
  commandName: EdcRecordCommand,
  params: Record<string, unknown>,
  hash: string,
  previousTransactionId: string | null,
  now: number,
): StoredCommand {
  const timeoutMs = timeoutFor(config, commandName, params);
  const accepted = newEdcCommand({
    commandName,
    params,
    now,
    timeoutMs,
    maxRecoveryAttempts: config.EDC_RECOVERY_MAX_ATTEMPTS,
  });
  const sent = edcTransition(accepted, { type: 'dispatched', at: now });
  const lifecycle = sent.state;
  const base: StoredCommand = {
    v: RECORD_VERSION,
    kind: 'command',
    deviceId: request.deviceId,
    requestId: request.requestId,
    commandName,
    createdAt: now,
    updatedAt: now,
    owner: config.REPLICA_ID,
    paramsHash: hash,
    params,
    ...(request.purchase
      ? {
          purchase: {
            deviceId: request.purchase.deviceId,
            requestId: request.purchase.requestId,
          },
        }
      : {}),
    lifecycle,
    notAfter: now + config.EDC_DISPATCH_WINDOW_MS,
    lastSeq: 0,
    gaps: 0,
    previousTransactionId,
    anomalies: [],
    eventSeq: 1,
    publishedThrough: 0,
    outbox: [],
  };
  base.outbox = [
    {
      v: 1,
      seq: 1,
      at: now,
      deviceId: request.deviceId,
      requestId: request.requestId,
      commandName,
      type: 'phase',
      phase: 'sent',
      previousPhase: 'accepted',
    },
  ];
  return base;
}

/** The seed's timeouts, as configured (a Purchase above 50,000 KRW gets the signature timeout). */
function timeoutFor(
  config: EdcCommandConfig,
  commandName: EdcRecordCommand,
  params: Record<string, unknown>,
): number {
  switch (commandName) {
    case 'Purchase': {
      const amount = params.paymentAmount as { value?: string; currency?: string } | undefined;
      const signature =
        amount?.currency !== 'KRW' ||
        !/^\d{1,15}$/.test(amount.value ?? '') ||
        Number(amount.value) > 50_000;
      return signature ? config.EDC_TIMEOUT_PURCHASE_SIGNATURE_MS : config.EDC_TIMEOUT_PURCHASE_MS;
    }
    case 'PurchaseCancel':
      return config.EDC_TIMEOUT_PURCHASE_CANCEL_MS;
    default:
      return config.EDC_TIMEOUT_GET_LAST_TRANSACTION_MS;
  }
}
