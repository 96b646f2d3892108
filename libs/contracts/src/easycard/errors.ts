import { serviceError } from '../errors';

/**
 * The error codes of the easycard-session bus API, besides the bus-wide ones (PARAM_ILLEGAL, NOT_FOUND,
 * UNAVAILABLE, INTERNAL_ERROR, ...). One message per code, so callers branch on codes and people read messages.
 */
export const EASYCARD_SESSION_ERRORS = {
  NOT_FOUND:
    'no such EasyCard reader: register it (tillbus.easycard.readers.register) or wait for discovery',
  UNKNOWN_MERCHANT: 'the MchId is not among the configured merchants (INTELLA_MERCHANTS)',
  MERCHANT_REQUIRED:
    'several merchants are configured: say which one the reader belongs to (mchId)',
  READER_CONFLICT: 'the reader is already registered under another merchant',
  SIGNON_IN_PROGRESS:
    'a sign-on or settlement for this reader is running on a replica; ask again shortly',
  SIGNON_REFUSED: 'the session cannot start a sign-on in its current state',
  SESSION_NOT_USABLE: 'the reader holds no valid sign-on, so there is no key to release',
  KEY_UNAVAILABLE:
    'the stored key cannot be opened (key-encryption key rotated away, or the record was tampered with)',
} as const;

export type EasyCardSessionErrorCode = keyof typeof EASYCARD_SESSION_ERRORS;

/** An easycard-session rejection: its message is the code's meaning, then the detail (the reader, the state). */
export class EasyCardSessionError extends serviceError(
  'EasyCardSessionError',
  EASYCARD_SESSION_ERRORS,
) {
  constructor(
    code: EasyCardSessionErrorCode,
    detail?: string,
    details?: unknown,
    options?: ErrorOptions,
  ) {
    super(
      code,
      detail ? `${EASYCARD_SESSION_ERRORS[code]}: ${detail}` : EASYCARD_SESSION_ERRORS[code],
      details,
      options,
    );
  }
}
