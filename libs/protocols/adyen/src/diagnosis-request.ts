import { AdyenProtocolError } from './errors';
import { parsePoiId, type AdyenPoiId } from './poi-id';
import { isValidServiceId } from './service-id';
import {
  DiagnosisRequest,
  MessageCategoryType,
  MessageClassType,
  MessageHeader,
  MessageType,
  ObjectSerializer,
  SaleToPOIRequest,
  TerminalApiRequest,
} from './terminal-api';

export const TERMINAL_API_PROTOCOL_VERSION = '3.0';

export interface DiagnosisRequestParams {
  /** Our POS system component that sends the request. */
  saleId: string;
  /** `[model]-[serial]` for a terminal, or the Mobile SDK installation id. */
  poiId: string;
  /** From a ServiceIdGenerator: unique per POIID for 48 h. */
  serviceId: string;
  /** false for step 1; true for step 2 (terminal) and always for a Mobile SDK. */
  hostDiagnosis: boolean;
}

/** The Terminal API diagnosis request, as the library's model (ready for its local or cloud client). */
export function buildDiagnosisRequest(params: DiagnosisRequestParams): TerminalApiRequest {
  const { saleId, poiId, serviceId, hostDiagnosis } = params;
  if (typeof saleId !== 'string' || saleId.length === 0) {
    throw new AdyenProtocolError('INVALID_ARGUMENT', 'saleId must be a non-empty string');
  }
  if (!isValidServiceId(serviceId)) {
    throw new AdyenProtocolError(
      'INVALID_ARGUMENT',
      'serviceId must be 1-10 alphanumeric characters',
    );
  }
  if (typeof hostDiagnosis !== 'boolean') {
    throw new AdyenProtocolError('INVALID_ARGUMENT', 'hostDiagnosis must be a boolean');
  }
  parsePoiId(poiId);

  const header = new MessageHeader();
  header.ProtocolVersion = TERMINAL_API_PROTOCOL_VERSION;
  header.MessageClass = MessageClassType.Service;
  header.MessageCategory = MessageCategoryType.Diagnosis;
  header.MessageType = MessageType.Request;
  header.ServiceID = serviceId;
  header.SaleID = saleId;
  header.POIID = poiId;

  const diagnosis = new DiagnosisRequest();
  diagnosis.HostDiagnosisFlag = hostDiagnosis;

  const message = new SaleToPOIRequest();
  message.MessageHeader = header;
  message.DiagnosisRequest = diagnosis;

  const request = new TerminalApiRequest();
  request.SaleToPOIRequest = message;
  return request;
}

/** The JSON body the terminal (or Adyen's cloud) receives, before any Nexo encryption. */
export function serializeTerminalApiRequest(request: TerminalApiRequest): string {
  return JSON.stringify(ObjectSerializer.serialize(request, 'TerminalApiRequest'));
}

/** Step 1 for a terminal is a plain diagnosis; a Mobile SDK only connects to Adyen when the flag is true. */
export function initialHostDiagnosisFlag(poiId: AdyenPoiId): boolean {
  return poiId.kind === 'mobile-sdk';
}
