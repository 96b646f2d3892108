import type { Outcome } from './outcome';
import { isTableKey } from './table';

/**
 * intella Scan2Pay `Header.StatusCode` (protocols.md §6; the 70 and 80 classes as in intella's public code list,
 * intella2.gitbook.io/scan2pay/appendix/scan2pay-error-codes). `0000` only says the API ran: for EasyCard the verdict is
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
  '8001': {
    status: 'data conversion failed',
    meaning: 'intella could not convert the request data',
    action: 'check the request fields; alert an operator',
  },
  '8002': {
    status: 'incorrect data format',
    meaning: 'the request data is not in the expected format',
    action: 'check the request fields; alert an operator',
  },
  '8004': {
    status: 'incorrect verification code',
    meaning: 'intella refused a verification code',
    action: 'check the merchant credentials; alert an operator',
  },
  '8005': {
    status: 'version not supported',
    meaning: 'intella does not support this API version',
    action: 'check the API URL and version; alert an operator',
  },
  '8006': {
    status: 'login failed',
    meaning: 'intella refused the login',
    action: 'check the merchant credentials; alert an operator',
  },
  '8007': {
    status: 'user not exists',
    meaning: 'intella does not know this user or merchant',
    action: 'check the MchId; alert an operator',
  },
  '8008': {
    status: 'logged in elsewhere',
    meaning: 'the account is already logged in to another device',
    action: 'find the other device using the account; alert an operator',
  },
  '8009': {
    status: 'invalid session',
    meaning: 'the session is not valid (any more)',
    action: 'retry with capped backoff; a new request opens a new session',
  },
  '8010': {
    status: 'incorrect transmission method',
    meaning: 'the request was sent the wrong way (method or URL)',
    action: 'check the configured URL; alert an operator',
  },
  '8011': {
    status: 'database error',
    meaning: "intella's database failed; whether the operation was recorded is not known",
    action: 'query the result before any resend; alert an operator if it persists',
  },
  '8012': {
    status: 'exchange rate service error',
    meaning: "intella's exchange rate service failed",
    action: 'retry with capped backoff',
  },
  '8013': {
    status: 'repeated user or ID',
    meaning: 'the user or id already exists',
    action: 'do not resend',
  },
  '8014': {
    status: 'risk limit reached',
    meaning: 'the transaction reached the risk management limit',
    action: 'do not resend; the merchant must contact intella',
  },
  '8015': {
    status: 'network connection failed',
    meaning: 'a network connection behind intella failed; the operation may or may not have run',
    action: 'query the result before any resend',
  },
  '7000': {
    status: 'repeated order',
    meaning: 'the order number was already used',
    action: 'do not resend',
  },
  '7001': {
    status: 'already refunded or cancelled',
    meaning: 'the order was already refunded or cancelled',
    action: 'do not resend',
  },
  '7002': { status: 'order missing', meaning: 'the order does not exist', action: 'do not resend' },
  '7003': {
    status: 'repeated refund number',
    meaning: 'the refund number was already used',
    action: 'do not resend',
  },
  '7004': {
    status: 'refund missing',
    meaning: 'the refund does not exist',
    action: 'do not resend',
  },
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
  DATA_CONVERSION_FAILED: 'intella could not convert the request data (8001)',
  BAD_DATA_FORMAT: 'the request data format is wrong (8002)',
  BAD_VERIFICATION_CODE: 'verification code rejected (8004)',
  VERSION_NOT_SUPPORTED: 'API version not supported (8005)',
  LOGIN_FAILED: 'login failed (8006)',
  USER_MISSING: 'user or merchant not known to intella (8007)',
  LOGGED_IN_ELSEWHERE: 'the account is logged in to another device (8008)',
  INVALID_SESSION: 'invalid session (8009)',
  BAD_TRANSMISSION_METHOD: 'wrong transmission method (8010)',
  INTELLA_DATABASE_ERROR: 'intella database error (8011)',
  EXCHANGE_RATE_ERROR: 'exchange rate service error (8012)',
  REPEATED_USER: 'repeated user or ID (8013)',
  RISK_LIMIT_REACHED: 'the risk management limit was reached (8014)',
  INTELLA_NETWORK_FAILED: 'a network connection behind intella failed (8015)',
  REPEATED_ORDER: 'repeated order (7000)',
  ALREADY_REFUNDED_OR_CANCELLED: 'the order was already refunded or cancelled (7001)',
  ORDER_MISSING: 'order missing (7002)',
  REPEATED_REFUND: 'repeated refund number (7003)',
  REFUND_MISSING: 'refund missing (7004)',
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
  // The request itself, our settings or the merchant account is wrong: repeating it cannot help.
  '8001': { outcome: 'CONFIG_ERROR', reason: 'DATA_CONVERSION_FAILED' },
  '8002': { outcome: 'CONFIG_ERROR', reason: 'BAD_DATA_FORMAT' },
  '8003': { outcome: 'CONFIG_ERROR', reason: 'DECRYPTION_FAILED' },
  '8004': { outcome: 'CONFIG_ERROR', reason: 'BAD_VERIFICATION_CODE' },
  '8005': { outcome: 'CONFIG_ERROR', reason: 'VERSION_NOT_SUPPORTED' },
  '8006': { outcome: 'CONFIG_ERROR', reason: 'LOGIN_FAILED' },
  '8007': { outcome: 'CONFIG_ERROR', reason: 'USER_MISSING' },
  '8008': { outcome: 'CONFIG_ERROR', reason: 'LOGGED_IN_ELSEWHERE' },
  '8010': { outcome: 'CONFIG_ERROR', reason: 'BAD_TRANSMISSION_METHOD' },
  // Refused before it ran: a new request opens a new session, and the exchange rate service recovers.
  '8009': { outcome: 'RETRYABLE', reason: 'INVALID_SESSION' },
  '8012': { outcome: 'RETRYABLE', reason: 'EXCHANGE_RATE_ERROR' },
  // Failed at or behind intella after the request was accepted: it may have run, so query, never re-dispatch.
  '8011': { outcome: 'UNKNOWN', reason: 'INTELLA_DATABASE_ERROR' },
  '8015': { outcome: 'UNKNOWN', reason: 'INTELLA_NETWORK_FAILED' },
  // Verdicts on this very order, user or refund: the same request gets the same answer.
  '8013': { outcome: 'FAILED', reason: 'REPEATED_USER' },
  '8014': { outcome: 'FAILED', reason: 'RISK_LIMIT_REACHED' },
  '7000': { outcome: 'FAILED', reason: 'REPEATED_ORDER' },
  '7001': { outcome: 'FAILED', reason: 'ALREADY_REFUNDED_OR_CANCELLED' },
  '7002': { outcome: 'FAILED', reason: 'ORDER_MISSING' },
  '7003': { outcome: 'FAILED', reason: 'REPEATED_REFUND' },
  '7004': { outcome: 'FAILED', reason: 'REFUND_MISSING' },
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
