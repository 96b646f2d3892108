import type { Outcome } from './outcome';
import { isTableKey } from './table';

/**
 * intella Scan2Pay `Header.StatusCode` (protocols.md §6). `0000` only says the API ran: for EasyCard the verdict is
 * in `Data.ErrorCode`. `status` and `meaning` are the vendor's words; `action` is what a caller should do.
 */
export const INTELLA_STATUS_CODES = {
  '0000': {
    status: 'API ran',
    meaning: 'the API ran; for EasyCard the result is in Data.ErrorCode (000000 = success)',
    action: 'read Data.ErrorCode before treating the call as successful',
  },
  '9999': {
    status: 'unavailable',
    meaning: 'service unavailable',
    action: 'retry with capped backoff',
  },
  '9998': {
    status: 'failed',
    meaning: 'the request failed at intella',
    action: 'retry with capped backoff',
  },
  '9997': {
    status: 'ongoing',
    meaning: 'the operation is still in progress at intella',
    action: 'query the result later; do not re-dispatch a payment',
  },
  '9995': {
    status: 'system error',
    meaning: 'system error: check the intella public key',
    action: 'check the configured intella public key; alert an operator',
  },
  '9994': {
    status: 'network/crypto error',
    meaning: 'network or encryption error at intella',
    action: 'retry with capped backoff',
  },
  '8003': {
    status: 'decryption failed',
    meaning: 'intella could not decrypt the request',
    action: 'check the public key and IV configuration; alert an operator',
  },
  '7000': {
    status: 'repeated order',
    meaning: 'the order number was already used',
    action: 'do not resend',
  },
  '7002': { status: 'order missing', meaning: 'the order does not exist', action: 'do not resend' },
  '7105': {
    status: 'bad TradeKey',
    meaning: 'TradeKey is wrong: it must be the lower-case hex SHA-256 of the trade password',
    action: 'fix the trade password or its hashing; alert an operator',
  },
  '7167': {
    status: 'device deactivated',
    meaning: 'the reader is deactivated at intella',
    action: 'have the reader reactivated by intella; alert an operator',
  },
} as const;

export type IntellaStatusCode = keyof typeof INTELLA_STATUS_CODES;

export const INTELLA_STATUS_CODE_LIST = Object.keys(INTELLA_STATUS_CODES) as IntellaStatusCode[];

export function isIntellaStatusCode(value: unknown): value is IntellaStatusCode {
  return isTableKey(INTELLA_STATUS_CODES, value);
}

/**
 * EasyCard `Data.ErrorCode`, by class. MEDIUM CONFIDENCE: protocols.md restores these from public material it could
 * not fully confirm. `0462xx` is a class (046200–046299), not one code. Codes outside these classes classify as
 * UNKNOWN, the safe default.
 */
export const EASYCARD_ERROR_CODE_CONFIDENCE = 'medium';

export const EASYCARD_ERROR_CODES = {
  '000000': { status: 'success', meaning: 'success', action: 'none' },
  '000125': {
    status: 'retry required',
    meaning: 'the reader asks for the transaction to be retried',
    action: 'resend the same ServiceType with Data.Retry as returned',
  },
  '0462xx': {
    status: 'card-read error',
    meaning: 'the card could not be read',
    action: 'retry (present the card again)',
  },
  '010117': {
    status: 'previous day not settled',
    meaning: "the previous business day's settlement is missing",
    action: 'run Settlement first, then retry',
  },
  '000051': {
    status: 'insufficient balance',
    meaning: 'the card balance is too low',
    action: 'do not retry',
  },
  '010123': {
    status: 'insufficient balance',
    meaning: 'the card balance is too low',
    action: 'do not retry',
  },
  '900001': {
    status: 'reader in use',
    meaning: 'the reader is busy with another transaction',
    action: 'retry after the other transaction ends',
  },
  '900002': {
    status: 'dongle id mismatch',
    meaning: 'the dongle id does not match the reader bound at intella',
    action: 'check the reader binding; alert an operator',
  },
} as const;

export type EasyCardErrorCodeClass = keyof typeof EASYCARD_ERROR_CODES;

export const EASYCARD_ERROR_CODE_CLASSES = Object.keys(
  EASYCARD_ERROR_CODES,
) as EasyCardErrorCodeClass[];

const CARD_READ_ERROR = /^0462\d{2}$/;

/** The table row a concrete `Data.ErrorCode` belongs to, or undefined when it is not in the table. */
export function easyCardErrorCodeClass(errorCode: string): EasyCardErrorCodeClass | undefined {
  if (CARD_READ_ERROR.test(errorCode)) return '0462xx';
  // the row key '0462xx' names a class; it is not itself a code intella sends
  if (errorCode === '0462xx') return undefined;
  return isTableKey(EASYCARD_ERROR_CODES, errorCode) ? errorCode : undefined;
}

/** Stable reason codes a classification carries: callers branch on these, never on the vendor's text. */
export const INTELLA_REASONS = {
  OK: 'StatusCode 0000 and ErrorCode 000000',
  ERROR_CODE_MISSING: 'StatusCode 0000 but no Data.ErrorCode: the EasyCard result is not known',
  RETRY_REQUIRED: 'EasyCard asks for a retry (000125)',
  CARD_READ_ERROR: 'card-read error (0462xx)',
  PREVIOUS_DAY_NOT_SETTLED: 'the previous day is not settled (010117): settle first',
  INSUFFICIENT_BALANCE: 'insufficient card balance',
  READER_IN_USE: 'the reader is busy (900001)',
  DONGLE_ID_MISMATCH: 'dongle id does not match the bound reader (900002)',
  UNKNOWN_ERROR_CODE: 'an EasyCard ErrorCode outside the known classes',
  UNAVAILABLE: 'intella unavailable (9999)',
  INTELLA_FAILED: 'intella reported failure (9998)',
  ONGOING: 'the operation is still in progress (9997)',
  PUBLIC_KEY_ERROR: 'intella system error, check the public key (9995)',
  NETWORK_OR_CRYPTO_ERROR: 'intella network or encryption error (9994)',
  DECRYPTION_FAILED: 'intella could not decrypt the request (8003)',
  REPEATED_ORDER: 'repeated order (7000)',
  ORDER_MISSING: 'order missing (7002)',
  BAD_TRADE_KEY: 'TradeKey rejected: must be the lower-case SHA-256 of the trade password (7105)',
  DEVICE_DEACTIVATED: 'the reader is deactivated (7167)',
  TRANSIENT_99XX: 'an unlisted 99xx StatusCode: treated like the other 99xx codes',
  UNKNOWN_STATUS_CODE: 'a StatusCode outside the known table',
} as const;

export type IntellaReason = keyof typeof INTELLA_REASONS;

export interface IntellaClassification {
  outcome: Outcome;
  reason: IntellaReason;
}

/**
 * Every non-0000 StatusCode's verdict. 9997 (ongoing) is UNKNOWN, not RETRYABLE: the operation may still complete,
 * so re-sending could run it twice (a payment charged twice); the caller must query, not re-dispatch. Sign-on is
 * idempotent, so the session machine backs off on UNKNOWN exactly as on RETRYABLE.
 */
const STATUS_VERDICTS: Record<Exclude<IntellaStatusCode, '0000'>, IntellaClassification> = {
  '9999': { outcome: 'RETRYABLE', reason: 'UNAVAILABLE' },
  '9998': { outcome: 'RETRYABLE', reason: 'INTELLA_FAILED' },
  '9997': { outcome: 'UNKNOWN', reason: 'ONGOING' },
  '9995': { outcome: 'CONFIG_ERROR', reason: 'PUBLIC_KEY_ERROR' },
  '9994': { outcome: 'RETRYABLE', reason: 'NETWORK_OR_CRYPTO_ERROR' },
  '8003': { outcome: 'CONFIG_ERROR', reason: 'DECRYPTION_FAILED' },
  '7000': { outcome: 'FAILED', reason: 'REPEATED_ORDER' },
  '7002': { outcome: 'FAILED', reason: 'ORDER_MISSING' },
  '7105': { outcome: 'CONFIG_ERROR', reason: 'BAD_TRADE_KEY' },
  '7167': { outcome: 'CONFIG_ERROR', reason: 'DEVICE_DEACTIVATED' },
};

const ERROR_CODE_VERDICTS: Record<EasyCardErrorCodeClass, IntellaClassification> = {
  '000000': { outcome: 'SUCCESS', reason: 'OK' },
  '000125': { outcome: 'RETRYABLE', reason: 'RETRY_REQUIRED' },
  '0462xx': { outcome: 'RETRYABLE', reason: 'CARD_READ_ERROR' },
  '010117': { outcome: 'FAILED', reason: 'PREVIOUS_DAY_NOT_SETTLED' },
  '000051': { outcome: 'FAILED', reason: 'INSUFFICIENT_BALANCE' },
  '010123': { outcome: 'FAILED', reason: 'INSUFFICIENT_BALANCE' },
  '900001': { outcome: 'RETRYABLE', reason: 'READER_IN_USE' },
  '900002': { outcome: 'CONFIG_ERROR', reason: 'DONGLE_ID_MISMATCH' },
};

const UNLISTED_99XX = /^99\d{2}$/;

/**
 * One verdict for an EasyCard answer. `0000` alone is never success: without `Data.ErrorCode` the result is UNKNOWN.
 * Unknown codes land on UNKNOWN, the outcome that forbids blind re-dispatch.
 */
export function classifyIntellaResult(
  statusCode: string,
  errorCode?: string | null,
): IntellaClassification {
  if (statusCode === '0000') {
    if (errorCode === undefined || errorCode === null || errorCode === '') {
      return { outcome: 'UNKNOWN', reason: 'ERROR_CODE_MISSING' };
    }
    const errorClass = easyCardErrorCodeClass(errorCode);
    return errorClass
      ? ERROR_CODE_VERDICTS[errorClass]
      : { outcome: 'UNKNOWN', reason: 'UNKNOWN_ERROR_CODE' };
  }
  if (isIntellaStatusCode(statusCode))
    return STATUS_VERDICTS[statusCode as Exclude<IntellaStatusCode, '0000'>];
  if (UNLISTED_99XX.test(statusCode)) return { outcome: 'RETRYABLE', reason: 'TRANSIENT_99XX' };
  return { outcome: 'UNKNOWN', reason: 'UNKNOWN_STATUS_CODE' };
}

/**
 * Failures of a call to intella that happen before a StatusCode can be read: this project's vocabulary, not the
 * vendor's. An HTTP error whose body still carries a plain `Header.StatusCode` is classified by that code instead.
 * RESPONSE_UNREADABLE is crypto trouble like 8003 (our IV or key does not match intella's), so it is a
 * CONFIG_ERROR: retrying on a timer would only hammer intella with requests it cannot answer either.
 */
export const INTELLA_CALL_FAILURES = {
  TIMEOUT: {
    outcome: 'RETRYABLE',
    meaning: 'no answer within the configured timeout',
  },
  UNREACHABLE: {
    outcome: 'RETRYABLE',
    meaning: 'the connection failed (refused, reset, DNS or TLS)',
  },
  HTTP_5XX: {
    outcome: 'RETRYABLE',
    meaning: 'an HTTP 5xx answer without a readable envelope',
  },
  HTTP_4XX: {
    outcome: 'CONFIG_ERROR',
    meaning: 'an HTTP 4xx answer without a readable envelope: check the configured URL',
  },
  RESPONSE_UNREADABLE: {
    outcome: 'CONFIG_ERROR',
    meaning: 'the answer could not be decrypted or parsed: check the IV and the intella public key',
  },
  RESPONSE_INCOMPLETE: {
    outcome: 'UNKNOWN',
    meaning: 'a success answer without the fields the operation needs',
  },
  REQUEST_INVALID: {
    outcome: 'CONFIG_ERROR',
    meaning: 'the request could not be built from the merchant configuration',
  },
} as const satisfies Record<string, { outcome: Exclude<Outcome, 'SUCCESS'>; meaning: string }>;

export type IntellaCallFailure = keyof typeof INTELLA_CALL_FAILURES;

export function isIntellaCallFailure(value: unknown): value is IntellaCallFailure {
  return isTableKey(INTELLA_CALL_FAILURES, value);
}

/** The verdict on a call that produced no StatusCode. */
export function classifyIntellaCallFailure(failure: IntellaCallFailure): {
  outcome: Exclude<Outcome, 'SUCCESS'>;
  reason: IntellaCallFailure;
} {
  return { outcome: INTELLA_CALL_FAILURES[failure].outcome, reason: failure };
}
