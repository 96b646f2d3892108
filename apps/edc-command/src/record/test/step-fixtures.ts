import type { BridgeEvent, BridgeResult } from '@tillbus/protocols-kicc';
import { edcTransition, newEdcCommand, type KiccEventCode } from '@tillbus/result-codes';
import type { StoredCommand } from '../model';
import type { StepContext } from '../step';

/** Records, bridge traffic and contexts for the step specs. */
export const T0 = 1_735_689_600_000;
export const META = 'bWV0YWRhdGEtdGhhdC1tdXN0LW5ldmVyLWxlYXZl';
export const SIGN = 'c2lnbmF0dXJlLWRhdGEtbmV2ZXItcHVibGlzaGVk';

export function ctx(at = T0 + 1_000, overrides: Partial<StepContext> = {}): StepContext {
  return {
    at,
    replicaId: 'r1',
    withoutRequestId: 'fresh-transaction',
    recoveryBackoffMs: [0, 10_000],
    ...overrides,
  };
}

export function purchaseRecord(overrides: Partial<StoredCommand> = {}): StoredCommand {
  const params = {
    requestId: 'req-1',
    paymentAmount: { value: '104', currency: 'KRW' },
    tipAmount: { value: '0', currency: 'KRW' },
    creditPayPlan: { installmentNum: '0' },
    acquirerInfo: { acquirerTerminalId: '0788888', acquirerRegistrationNo: '0216001234' },
  };
  const lifecycle = edcTransition(newEdcCommand({ commandName: 'Purchase', params, now: T0 }), {
    type: 'dispatched',
    at: T0,
  }).state;
  return {
    v: 1,
    kind: 'command',
    deviceId: 'edc-1',
    requestId: 'req-1',
    commandName: 'Purchase',
    createdAt: T0,
    updatedAt: T0,
    owner: 'r0',
    paramsHash: 'h',
    params,
    lifecycle,
    notAfter: T0 + 10_000,
    lastSeq: 0,
    gaps: 0,
    previousTransactionId: null,
    anomalies: [],
    eventSeq: 1,
    outbox: [],
    ...overrides,
  };
}

export const event = (seq: number, code: KiccEventCode, requestId = 'req-1'): BridgeEvent =>
  ({
    v: 1,
    type: 'event',
    deviceId: 'edc-1',
    requestId,
    commandName: 'Purchase',
    seq,
    sentAt: T0,
    body: { code },
  }) as BridgeEvent;

export function responseData(
  requestId: string | undefined,
  resultCode = 'SUCCESS',
  transactionId = '000124',
) {
  return {
    ...(requestId ? { requestId } : {}),
    paymentAmount: { value: '104', currency: 'KRW' },
    taxAmount: { value: '9', currency: 'KRW' },
    tipAmount: { value: '0', currency: 'KRW' },
    creditPayPlan: { installmentNum: '0' },
    result: { resultCode, resultMessage: '' },
    acquirerInfo: {
      acquirerTransactionId: transactionId,
      acquirerTerminalId: '0788888',
      acquirerRegistrationNo: '0216001234',
      acquirerMerchantId: '608525310521',
      acquirerApprovalNum: '16263485',
      acquirerName: 'KICC',
      acquirerMetaData: META,
      signData: SIGN,
    },
    paymentResultInfo: {
      cardBin: '52364979',
      paymentMethodId: '',
      issuerCode: 'KB',
      funding: 'CREDIT',
      paymentMethodRegion: 'KR',
      paymentMethodType: 'CARD',
    },
  };
}

export const result = (
  seq: number,
  body: Record<string, unknown>,
  requestId = 'req-1',
  commandName = 'Purchase',
): BridgeResult =>
  ({
    v: 1,
    type: 'result',
    deviceId: 'edc-1',
    requestId,
    commandName,
    seq,
    sentAt: T0,
    body,
  }) as unknown as BridgeResult;
