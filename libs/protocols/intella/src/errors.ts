import { ProtocolError } from '@tillbus/validation';
import type { IntellaStatusCode } from '@tillbus/result-codes';

export const INTELLA_PROTOCOL_ERRORS = {
  MALFORMED_ENVELOPE: 'the body is not the expected JSON envelope',
  DECRYPTION_FAILED: 'the RSA or AES layer could not be decrypted',
  MALFORMED_JSON: 'the decrypted text, or a nested Data string, is not valid JSON',
  SCHEMA_INVALID: 'a field is missing or has the wrong form',
  BAD_IV: 'the IV must be exactly 16 bytes (a 16-character ASCII string)',
  BAD_KEY: 'a key is unusable (not an RSA key, or an AES key that is not 16 bytes)',
  INVALID_TIME: 'not a valid yyyyMMddHHmmss time or date',
} as const;

export type IntellaProtocolErrorCode = keyof typeof INTELLA_PROTOCOL_ERRORS;

/**
 * The only error this lib throws. `details` carries field names and sizes, never values: keys, TradeKey and
 * plaintext must not reach logs through an error.
 */
export class IntellaProtocolError extends ProtocolError<IntellaProtocolErrorCode> {
  override readonly name = 'IntellaProtocolError';

  constructor(
    code: IntellaProtocolErrorCode,
    message: string = INTELLA_PROTOCOL_ERRORS[code],
    details?: Record<string, unknown>,
  ) {
    super(code, message, details);
  }
}

export function isIntellaProtocolError(error: unknown): error is IntellaProtocolError {
  return error instanceof IntellaProtocolError;
}

/**
 * The Header.StatusCode a server (the simulator) answers when it cannot read a request. Only 8003 is documented;
 * the others are this project's choice (9995 for its own key/IV trouble, 9998 "failed" for a bad request).
 */
export const SERVER_STATUS_FOR_PROTOCOL_ERROR: Record<IntellaProtocolErrorCode, IntellaStatusCode> =
  {
    MALFORMED_ENVELOPE: '8003',
    DECRYPTION_FAILED: '8003',
    MALFORMED_JSON: '8003',
    SCHEMA_INVALID: '9998',
    INVALID_TIME: '9998',
    BAD_IV: '9995',
    BAD_KEY: '9995',
  };
