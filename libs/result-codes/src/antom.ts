import type { Outcome } from './outcome';
import { isTableKey } from './table';

/** `result.resultStatus` on every Antom and D-Store API. */
export const ANTOM_RESULT_STATUSES = {
  S: 'success',
  F: 'failure: the caller does not retry',
  U: 'unknown: system or network trouble, calling again is expected',
} as const;

export type AntomResultStatus = keyof typeof ANTOM_RESULT_STATUSES;

/*
 * D-Store's limits (its data dictionary, or our assumptions where the seeds give none), which the D-Store API
 * (@tillbus/protocols-antom) and the bus contract's order events (@tillbus/contracts) both apply.
 */
export const ORDER_ID_MAX = 255;
/** Amount.value: an Integer in the currency's smallest unit, 0–2147483647 (data dictionary). */
export const AMOUNT_VALUE_MAX = 2_147_483_647;
/** A limit the seeds do not give (an assumption, listed in README). */
export const ID_MAX = 255;
/** deliveryStatus's values are cut off in our copies: any short code is kept as sent. */
export const DELIVERY_STATUS_MAX = 64;
/** A datetime in ISO 8601 text is far shorter; this only bounds what we store. */
export const DATETIME_MAX = 64;

export const ANTOM_RESULT_STATUS_NAMES = Object.keys(ANTOM_RESULT_STATUSES) as AntomResultStatus[];

export function isAntomResultStatus(value: unknown): value is AntomResultStatus {
  return isTableKey(ANTOM_RESULT_STATUSES, value);
}

interface AntomCodeRow {
  readonly status: AntomResultStatus;
  readonly message: string;
  readonly action: string;
}

/** Result codes of `POST /v2/device/diagnosis` (terminal), as the vendor table gives them. */
export const ANTOM_DIAGNOSIS_CODES = {
  SUCCESS: { status: 'S', message: 'Success.', action: 'No action is required.' },
  PROCESS_FAIL: {
    status: 'F',
    message: 'A general business failure occurred. Do not retry.',
    action: 'Contact Antom Technical Support to troubleshoot the issue.',
  },
  INVALID_API: {
    status: 'F',
    message: 'The called API is invalid.',
    action:
      'Check whether the correct API name is used when making the API call. API names are case-insensitive.',
  },
  CLIENT_INVALID: {
    status: 'F',
    message: 'The client ID is invalid.',
    action:
      'Check whether the correct client ID is used. The payment terminal integration uses the serial number (SN) of the payment terminal as the client ID.',
  },
  INVALID_SIGNATURE: {
    status: 'F',
    message: 'The signature is not validated.',
    action:
      'Refer to the sample code provided by D-Store during integration to check whether the correct public key, signed message, and signature algorithm are used.',
  },
  INVALID_ENCRPT_DATA: {
    status: 'F',
    message: 'The encrypted data is invalid.',
    action:
      'Refer to the sample code provided by D-Store during integration to check whether the correct encrypted data is used.',
  },
  METHOD_NOT_SUPPORTED: {
    status: 'F',
    message: 'The server does not implement the requested HTTP method.',
    action: 'Ensure the HTTP method is POST.',
  },
  UNKNOWN_EXCEPTION: {
    status: 'U',
    message: 'An API calling is failed, which is caused by unknown reasons.',
    action: 'Call the API again.',
  },
} as const satisfies Record<string, AntomCodeRow>;

export type AntomDiagnosisCode = keyof typeof ANTOM_DIAGNOSIS_CODES;

export const ANTOM_DIAGNOSIS_CODE_NAMES = Object.keys(
  ANTOM_DIAGNOSIS_CODES,
) as AntomDiagnosisCode[];

export function isAntomDiagnosisCode(value: unknown): value is AntomDiagnosisCode {
  return isTableKey(ANTOM_DIAGNOSIS_CODES, value);
}

/** Every diagnosis code onto the shared outcome, with the reason for each choice. */
export const ANTOM_DIAGNOSIS_OUTCOMES: Record<
  AntomDiagnosisCode,
  { outcome: Outcome; why: string }
> = {
  SUCCESS: { outcome: 'SUCCESS', why: 'the terminal answered the diagnosis' },
  PROCESS_FAIL: { outcome: 'FAILED', why: 'the vendor says do not retry' },
  INVALID_API: {
    outcome: 'CONFIG_ERROR',
    why: 'a wrong API path is deployment configuration; retrying cannot fix it',
  },
  CLIENT_INVALID: {
    outcome: 'CONFIG_ERROR',
    why: 'the configured Client-Id (terminal SN) is wrong',
  },
  INVALID_SIGNATURE: { outcome: 'CONFIG_ERROR', why: 'key, signed content or algorithm is wrong' },
  INVALID_ENCRPT_DATA: { outcome: 'CONFIG_ERROR', why: 'the encryption key or envelope is wrong' },
  METHOD_NOT_SUPPORTED: {
    outcome: 'FAILED',
    why: 'our request used a method other than POST: a bug, not transient',
  },
  UNKNOWN_EXCEPTION: {
    outcome: 'RETRYABLE',
    why: 'diagnosis only reads terminal state, so calling again (as the vendor asks) is safe',
  },
};

export function antomDiagnosisCodeOutcome(code: AntomDiagnosisCode): Outcome {
  return ANTOM_DIAGNOSIS_OUTCOMES[code].outcome;
}

/** The `result` object a terminal answers a diagnosis with, straight from the table (terminals, simulators). */
export function antomDiagnosisResult(code: AntomDiagnosisCode, message?: string) {
  const row = ANTOM_DIAGNOSIS_CODES[code];
  return { resultStatus: row.status, resultCode: code, resultMessage: message ?? row.message };
}

/** Result codes of the D-Store order APIs (createOrder, inquireOrderDetail, pushOrderChange, notifyOrderChange). */
export const DSTORE_RESULT_CODES = {
  SUCCESS: { status: 'S', message: 'success', action: 'No action is required.' },
  PROCESS_FAIL: {
    status: 'F',
    message: 'A general business failure occurred. Do not retry.',
    action: 'Do not retry.',
  },
  PARAM_ILLEGAL: {
    status: 'F',
    message:
      'Parameter names or values do not meet the specified requirements. The result message can vary according to the specific error encountered.',
    action: 'Fix the request parameters.',
  },
  INVALID_API: {
    status: 'F',
    message: 'The called API is invalid or not active.',
    action: 'Check the API path.',
  },
  INVALID_SIGNATURE: {
    status: 'F',
    message: 'Signature is invalid.',
    action: 'Check the key pair, the signed content and the algorithm.',
  },
  ACCESS_DENIED: {
    status: 'F',
    message: 'Access is denied',
    action: 'Check the Client-Id and its permissions.',
  },
  REQUEST_TRAFFIC_EXCEED_LIMIT: {
    status: 'F',
    message: 'The request traffic exceeds the limit.',
    action: 'Slow down before calling again.',
  },
  UNKNOWN_EXCEPTION: {
    status: 'U',
    message: 'An API calling is failed, which is caused by unknown reasons.',
    action: 'D-Store retries; answer it only for transient trouble (store or bus outage).',
  },
} as const satisfies Record<string, AntomCodeRow>;

export type DStoreResultCode = keyof typeof DSTORE_RESULT_CODES;

export const DSTORE_RESULT_CODE_NAMES = Object.keys(DSTORE_RESULT_CODES) as DStoreResultCode[];

export function isDStoreResultCode(value: unknown): value is DStoreResultCode {
  return isTableKey(DSTORE_RESULT_CODES, value);
}

/** Every D-Store code onto the shared outcome, read as the answer D-Store gives to our notifyOrderChange. */
export const DSTORE_RESULT_OUTCOMES: Record<DStoreResultCode, { outcome: Outcome; why: string }> = {
  SUCCESS: { outcome: 'SUCCESS', why: 'D-Store accepted the notification' },
  PROCESS_FAIL: { outcome: 'FAILED', why: 'the vendor says do not retry' },
  PARAM_ILLEGAL: { outcome: 'FAILED', why: 'the same body would be refused again' },
  INVALID_API: { outcome: 'CONFIG_ERROR', why: 'a wrong API path is deployment configuration' },
  INVALID_SIGNATURE: { outcome: 'CONFIG_ERROR', why: 'key, signed content or algorithm is wrong' },
  ACCESS_DENIED: {
    outcome: 'CONFIG_ERROR',
    why: 'the Client-Id is not allowed: credentials trouble',
  },
  REQUEST_TRAFFIC_EXCEED_LIMIT: {
    outcome: 'RETRYABLE',
    why: 'rate limiting refuses before processing, and requestId makes a later resend idempotent',
  },
  UNKNOWN_EXCEPTION: {
    outcome: 'RETRYABLE',
    why: 'notifyOrderChange is idempotent by requestId, so resending the same request is safe',
  },
};

export function dstoreCodeOutcome(code: DStoreResultCode): Outcome {
  return DSTORE_RESULT_OUTCOMES[code].outcome;
}

/** The `result` object an Antom or D-Store response carries. */
export interface AntomResultLike {
  resultStatus: string;
  resultCode?: string;
}

/**
 * Outcome of a whole `result` object. A code the table knows wins; a code the vendor added later falls back on
 * its status (S/F/U), and U falls back on `unknownStatusOutcome` because only the caller knows whether the call
 * was safe to repeat.
 */
export function antomResultOutcome(
  result: AntomResultLike,
  table: Readonly<Record<string, { outcome: Outcome }>>,
  unknownStatusOutcome: Outcome,
): Outcome {
  const code = result.resultCode;
  if (isTableKey(table, code)) return table[code].outcome;
  if (result.resultStatus === 'S') return 'SUCCESS';
  if (result.resultStatus === 'F') return 'FAILED';
  return unknownStatusOutcome;
}

/** A terminal's diagnosis `result`; U is retryable because diagnosis only reads state. */
export function antomDiagnosisResultOutcome(result: AntomResultLike): Outcome {
  return antomResultOutcome(result, ANTOM_DIAGNOSIS_OUTCOMES, 'RETRYABLE');
}

/** D-Store's answer to notifyOrderChange; U is retryable because requestId makes the resend idempotent. */
export function dstoreResultOutcome(result: AntomResultLike): Outcome {
  return antomResultOutcome(result, DSTORE_RESULT_OUTCOMES, 'RETRYABLE');
}

/** The `result` object the POS answers D-Store with, straight from the table. */
export function dstoreResult(code: DStoreResultCode, message?: string) {
  const row = DSTORE_RESULT_CODES[code];
  return { resultStatus: row.status, resultCode: code, resultMessage: message ?? row.message };
}

/** `orderStatus` values of the D-Store order journey (inquireOrderDetail response). */
export const DSTORE_ORDER_STATUSES = {
  ORDER_SUCCESS: { final: false, channelMayCancel: false, meaning: 'the POS created the order' },
  ACCEPTED: { final: false, channelMayCancel: false, meaning: 'the store accepted the order' },
  PREPARING: { final: false, channelMayCancel: false, meaning: 'the order is being prepared' },
  READY: { final: false, channelMayCancel: false, meaning: 'the order is ready' },
  COMPLETED: {
    final: true,
    channelMayCancel: true,
    meaning: 'final on the POS side; a channel such as Foodpanda may still move it to CANCELLED',
  },
  CANCELLED: { final: true, channelMayCancel: false, meaning: 'the order was cancelled' },
  REJECTED: { final: true, channelMayCancel: false, meaning: 'the store rejected the order' },
  ORDER_FAIL: { final: true, channelMayCancel: false, meaning: 'the order failed' },
} as const;

export type DStoreOrderStatus = keyof typeof DSTORE_ORDER_STATUSES;

export const DSTORE_ORDER_STATUS_NAMES = Object.keys(DSTORE_ORDER_STATUSES) as DStoreOrderStatus[];

export function isDStoreOrderStatus(value: unknown): value is DStoreOrderStatus {
  return isTableKey(DSTORE_ORDER_STATUSES, value);
}

/** Statuses D-Store may send in `pushOrderChange` (the channel changed the order). */
export const PUSH_ORDER_CHANGE_STATUSES = [
  'COMPLETED',
  'CANCELLED',
  'ORDER_FAIL',
] as const satisfies readonly DStoreOrderStatus[];

export type PushOrderChangeStatus = (typeof PUSH_ORDER_CHANGE_STATUSES)[number];

/** Statuses the POS may send in `notifyOrderChange`. */
export const NOTIFY_ORDER_CHANGE_STATUSES = [
  'ACCEPTED',
  'PREPARING',
  'READY',
  'COMPLETED',
  'REJECTED',
  'CANCELLED',
] as const satisfies readonly DStoreOrderStatus[];

export type NotifyOrderChangeStatus = (typeof NOTIFY_ORDER_CHANGE_STATUSES)[number];

export function isPushOrderChangeStatus(value: unknown): value is PushOrderChangeStatus {
  return (PUSH_ORDER_CHANGE_STATUSES as readonly unknown[]).includes(value);
}

export function isNotifyOrderChangeStatus(value: unknown): value is NotifyOrderChangeStatus {
  return (NOTIFY_ORDER_CHANGE_STATUSES as readonly unknown[]).includes(value);
}
