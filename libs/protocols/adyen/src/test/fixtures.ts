/**
 * A terminal's step-1 diagnosis answer, the envelope around any DiagnosisResponse, and the check on the
 * AdyenProtocolError code a parser throws. Shared by the specs.
 */
import { expect } from 'vitest';

export const HEADER = {
  ProtocolVersion: '3.0',
  MessageClass: 'Service',
  MessageCategory: 'Diagnosis',
  MessageType: 'Response',
  ServiceID: 'NJCHT11000',
  SaleID: 'tillbus-dh',
  POIID: 'V400m-324688179',
};

export function envelope(
  diagnosis: Record<string, unknown>,
  header: Record<string, unknown> = HEADER,
) {
  return { SaleToPOIResponse: { MessageHeader: header, DiagnosisResponse: diagnosis } };
}

export const STEP_1_ADDITIONAL =
  'batteryLevel=100%25&unconfirmedBatchCount=0&firmwareVersion=adyen_v1_120p4&terminalId=V400m-324688179';

export const STEP_1_OK = envelope({
  Response: { Result: 'Success', AdditionalResponse: STEP_1_ADDITIONAL },
  POIStatus: {
    GlobalStatus: 'OK',
    CommunicationOKFlag: true,
    PrinterStatus: 'PaperLow',
    PEDOKFlag: true,
  },
  LoggedSaleID: ['tillbus-dh'],
});

export function expectCode(fn: () => unknown, code: string) {
  expect(fn).toThrow(expect.objectContaining({ name: 'AdyenProtocolError', code }));
}
