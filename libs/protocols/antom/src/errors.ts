import { ProtocolError } from '@tillbus/validation';
export const ANTOM_PROTOCOL_ERROR_CODES = {
  MALFORMED_JSON: 'the body is not UTF-8 JSON',
  SCHEMA_INVALID: 'the JSON does not match the message schema',
  MALFORMED_SIGNATURE_HEADER: 'the Signature header is not algorithm=..,keyVersion=..,signature=..',
  MALFORMED_SIGNATURE: 'the signature is not URL-encoded Base64',
  BAD_TIME_FORMAT: 'the time is neither ISO-8601 with an offset nor epoch milliseconds',
  INVALID_KEY:
    'the key is not an RSA PKCS#8 private key or X.509 SPKI public key (PEM, Base64 DER or KeyObject)',
  INVALID_ARGUMENT: 'a caller-supplied value cannot be used',
} as const;

export type AntomProtocolErrorCode = keyof typeof ANTOM_PROTOCOL_ERROR_CODES;

/** The only error this lib throws. Messages name fields, never keys, signatures or values. */
export class AntomProtocolError extends ProtocolError<AntomProtocolErrorCode> {
  override readonly name = 'AntomProtocolError';

  constructor(
    code: AntomProtocolErrorCode,
    message: string = ANTOM_PROTOCOL_ERROR_CODES[code],
    details?: Record<string, unknown>,
  ) {
    super(code, message, details);
  }
}
