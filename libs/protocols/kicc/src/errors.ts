import { ProtocolError } from '@tillbus/validation';
/**
 * Every failure of this lib's parsers and encoders. `details` never holds the offending values, only where they
 * were, so an error can be logged without leaking card data or acquirerMetaData.
 */
export const KICC_PROTOCOL_ERROR_CODES = {
  INVALID_INPUT: 'the input is not a string or bytes',
  TOO_LARGE: 'the message is larger than the protocol allows',
  INVALID_JSON: 'the message is not UTF-8 JSON',
  UNSUPPORTED_VERSION: 'the envelope version is not supported',
  INVALID_MESSAGE: 'the envelope or its body does not match the schema',
  CARD_DATA_REFUSED: 'the message carries card data that may not cross the bridge',
  INVALID_COMMAND: 'the command request or response does not match the KICC SDK schema',
  INVALID_SUBJECT_TOKEN: 'an id cannot be used as a NATS subject token',
} as const;

export type KiccProtocolErrorCode = keyof typeof KICC_PROTOCOL_ERROR_CODES;

export class KiccProtocolError extends ProtocolError<KiccProtocolErrorCode> {
  override readonly name = 'KiccProtocolError';

  constructor(
    code: KiccProtocolErrorCode,
    message: string = KICC_PROTOCOL_ERROR_CODES[code],
    details?: Record<string, unknown>,
  ) {
    super(code, message, details);
  }
}
