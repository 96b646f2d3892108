/**
 * The Terminal API models of @adyen/api-library, re-exported so the services take them from here. The library
 * declares its enums as numeric, but at run time they hold the wire strings (`GlobalStatusType.Ok === 'OK'`).
 */
export {
  DiagnosisRequest,
  DiagnosisResponse,
  HostStatus,
  MessageCategoryType,
  MessageClassType,
  MessageHeader,
  MessageType,
  ObjectSerializer,
  POIStatus,
  Response,
  SaleToPOIRequest,
  SaleToPOIResponse,
  TerminalApiRequest,
  TerminalApiResponse,
} from '@adyen/api-library/lib/src/typings/terminal/models';
