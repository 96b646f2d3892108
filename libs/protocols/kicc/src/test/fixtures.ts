import { KiccProtocolError } from '../errors';

/**
 * The seed's samples, with its `$PLACEHOLDER`s filled in with values of the right shape. Shared by the specs.
 */

export const ACQUIRER_META_DATA =
  'ImNyZWRpdFBheVBsYW4iOiB7CiAgICAiaW5zdGFsbG1lbnROdW0iOiAiMCIKICB9LAogICJyZXN1bHQiOiB7CiAgICAicmVzdWx0Q29kZSI6ICJTVUNDRVNTIiwKICAgICJyZXN1bHRNZXNzYWdlIjogIiIKICB9Cg==';

export function purchaseRequest() {
  return {
    requestId: '123456XXXX',
    paymentAmount: { value: '104', currency: 'KRW' },
    tipAmount: { value: '0', currency: 'KRW' },
    creditPayPlan: { installmentNum: '0' },
    paymentExpiryTime: '30',
    acquirerInfo: { acquirerTerminalId: '0788888', acquirerRegistrationNo: '0216001234' },
  };
}

export function purchaseResponse() {
  return {
    requestId: '123456XXXX',
    paymentAmount: { value: '104', currency: 'KRW' },
    taxAmount: { value: '9', currency: 'KRW' },
    tipAmount: { value: '0', currency: 'KRW' },
    creditPayPlan: { installmentNum: '0' },
    result: { resultCode: 'SUCCESS', resultMessage: 'XXX' },
    acquirerInfo: {
      acquirerResultCode: '0000',
      acquirerResultMessage: 'approved',
      acquirerTransactionId: '000123',
      acquirerTerminalId: '0788888',
      acquirerRegistrationNo: '0216001234',
      acquirerMerchantId: '608525310521',
      acquirerApprovalNum: '16263485',
      acquirerName: 'KICC',
      notice: ' 매입사제출테스트 거래임',
      acquirerMetaData: ACQUIRER_META_DATA,
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

export function purchaseCancelRequest() {
  return {
    requestId: '123456XXXX',
    paymentAmount: { value: '104', currency: 'KRW' },
    tipAmount: { value: '0', currency: 'KRW' },
    creditPayPlan: { installmentNum: '0' },
    acquirerInfo: {
      acquirerTerminalId: '0788888',
      acquirerRegistrationNo: '0216001234',
      acquirerMetaData: ACQUIRER_META_DATA,
    },
  };
}

export function purchaseCancelResponse() {
  return {
    requestId: '123456XXXX',
    paymentAmount: { value: '104', currency: 'KRW' },
    taxAmount: { value: '9', currency: 'KRW' },
    tipAmount: { value: '0', currency: 'KRW' },
    creditPayPlan: { installmentNum: '0' },
    result: { resultCode: 'SUCCESS', resultMessage: '' },
    acquirerInfo: {
      acquirerTerminalId: '0788888',
      acquirerRegistrationNo: '0216001234',
      acquirerResultCode: '0000',
      acquirerResultMessage: 'cancelled',
      acquirerTransactionId: '000124',
      acquirerApprovalNum: '16263485',
      acquirerMerchantId: '608525310521',
      acquirerName: 'KICC',
      notice: 'notice',
    },
  };
}

export function lastPurchaseResponse() {
  return {
    responseCommand: 'Purchase',
    paymentAmount: { value: '104', currency: 'KRW' },
    taxAmount: { value: '9', currency: 'KRW' },
    tipAmount: { value: '0', currency: 'KRW' },
    creditPayPlan: { installmentNum: '0' },
    result: { resultCode: 'SUCCESS', resultMessage: '' },
    acquirerInfo: {
      acquirerTerminalId: '0788888',
      acquirerRegistrationNo: '0216001234',
      acquirerResultCode: '0000',
      acquirerResultMessage: 'approved',
      acquirerTransactionId: '000123',
      acquirerMetaData: ACQUIRER_META_DATA,
    },
  };
}

export function lastPurchaseCancelResponse() {
  return { ...purchaseCancelResponse(), responseCommand: 'PurchaseCancel' };
}

export function businessFailure() {
  return {
    requestId: 'c9d707ee-639d-4bf2-9a43-cc36c0a3beac',
    result: { resultCode: 'PROCESS_FAIL', resultMessage: 'Please check network' },
    acquirerInfo: {},
  };
}

/** A deep copy of `value` without the property at the dotted `path`. */
export function without<T>(value: T, path: string): T {
  const copy = structuredClone(value) as Record<string, unknown>;
  const keys = path.split('.');
  let node = copy;
  for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
  delete node[keys[keys.length - 1]];
  return copy as T;
}

/** A deep copy of `value` with the property at the dotted `path` set to `replacement`. */
export function withValue<T>(value: T, path: string, replacement: unknown): T {
  const copy = structuredClone(value) as Record<string, unknown>;
  const keys = path.split('.');
  let node = copy;
  for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
  node[keys[keys.length - 1]] = replacement;
  return copy as T;
}

/** The KiccProtocolError `run` throws; anything else it throws, or nothing, fails the test. */
export function errorOf(run: () => unknown): KiccProtocolError {
  try {
    run();
  } catch (error) {
    if (error instanceof KiccProtocolError) return error;
    throw error;
  }
  throw new Error('expected a KiccProtocolError');
}
