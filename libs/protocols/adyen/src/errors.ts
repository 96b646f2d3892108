import { ProtocolError } from '@tillbus/validation';
export const ADYEN_PROTOCOL_ERROR_CODES = {
  MALFORMED_JSON: 'the bytes are not UTF-8 JSON',
  SCHEMA_INVALID: 'the JSON is not a Terminal API diagnosis response',
  UNEXPECTED_MESSAGE:
    'the message is a Terminal API message, but not the diagnosis response that was expected',
  HEADER_MISMATCH:
    'the response header does not answer the request (ServiceID, SaleID or POIID differ)',
  MALFORMED_ADDITIONAL_RESPONSE: 'Response.AdditionalResponse is not a valid key=value&... string',
  INVALID_POIID: 'not a POIID of the form [model]-[serial] or a Mobile SDK installation id',
  INVALID_ARGUMENT: 'a caller passed a value the protocol cannot carry',
  SERVICE_ID_NOT_READY: 'the ServiceID generator must wait out the slot handover before issuing',
  SERVICE_ID_LEASE_EXPIRED: 'the replica slot lease behind this ServiceID generator has expired',
  SERVICE_ID_EXHAUSTED:
    'every ServiceID of the current clock tick is used; try again in the next tick',
} as const;

export type AdyenProtocolErrorCode = keyof typeof ADYEN_PROTOCOL_ERROR_CODES;

/** The one error this lib throws. `details` never carries keys or card data. */
export class AdyenProtocolError extends ProtocolError<AdyenProtocolErrorCode> {
  override readonly name = 'AdyenProtocolError';

  constructor(
    code: AdyenProtocolErrorCode,
    message: string = ADYEN_PROTOCOL_ERROR_CODES[code],
    details?: Record<string, unknown>,
  ) {
    super(code, message, details);
  }
}
