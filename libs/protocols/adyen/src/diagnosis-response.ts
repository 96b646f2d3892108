import {
  ADYEN_ERROR_CONDITION_NAMES,
  ADYEN_ERROR_CONDITIONS,
  ADYEN_GLOBAL_STATUS_NAMES,
  ADYEN_PRINTER_STATUS_NAMES,
  ADYEN_RESULT_NAMES,
  adyenDiagnosisOutcome,
  isAdyenErrorCondition,
  isAdyenResult,
  type AdyenErrorCondition,
  type AdyenGlobalStatus,
  type AdyenPrinterStatus,
  type AdyenResult,
  type Outcome,
} from '@tillbus/result-codes';
import { describeViolations, readVendorMessage, type UnrecognisedValue } from '@tillbus/validation';
import { Type } from 'class-transformer';
import {
  IsArray,
  IsBoolean,
  IsDefined,
  IsIn,
  IsObject,
  IsString,
  ValidateBy,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { parseAdditionalResponse, type AdyenAdditionalResponse } from './additional-response';
import { decodeBase64Text, isPlainRecord, parseJsonText } from './base64';
import { AdyenProtocolError } from './errors';
import { ObjectSerializer, type SaleToPOIResponse } from './terminal-api';

/*
 * Run-time schemas for the parts of the library's models this lib reads. The library's models have no run-time
 * checks, so these guard them; fields the schemas do not name pass through untouched into `message`. They are read
 * with the tolerant-reader rule (protocols.md, top): Adyen adds enum values and its library passes unknown ones
 * through, so an unknown Result, ErrorCondition, GlobalStatus or PrinterStatus is kept as received and listed in
 * `unrecognised`; it never makes the diagnosis unreadable.
 */

/** A value of an open vendor vocabulary: one of the known names, or whatever the terminal sent. */
export type OpenValue<Known extends string> = Known | (string & Record<never, never>);

// Unlike @IsOptional, a null is checked (and refused): only an absent field is optional.
const IsOptional = () => ValidateIf((_object: object, value: unknown) => value !== undefined);

class MessageHeaderSchema {
  @IsString() MessageClass!: string;
  @IsString() MessageCategory!: string;
  @IsString() MessageType!: string;
  @IsString() POIID!: string;
  @IsOptional() @IsString() ProtocolVersion?: string;
  @IsOptional() @IsString() SaleID?: string;
  @IsOptional() @IsString() ServiceID?: string;
}

class ResponseSchema {
  @IsIn(ADYEN_RESULT_NAMES) Result!: OpenValue<AdyenResult>;
  @IsOptional() @IsIn(ADYEN_ERROR_CONDITION_NAMES) ErrorCondition?: OpenValue<AdyenErrorCondition>;
  @IsOptional() @IsString() AdditionalResponse?: string;
}

class POIStatusSchema {
  @IsIn(ADYEN_GLOBAL_STATUS_NAMES) GlobalStatus!: OpenValue<AdyenGlobalStatus>;
  @IsOptional() @IsIn(ADYEN_PRINTER_STATUS_NAMES) PrinterStatus?: OpenValue<AdyenPrinterStatus>;
  @IsOptional() @IsBoolean() CommunicationOKFlag?: boolean;
  @IsOptional() @IsBoolean() CardReaderOKFlag?: boolean;
  @IsOptional() @IsBoolean() PEDOKFlag?: boolean;
  @IsOptional() @IsBoolean() SecurityOKFlag?: boolean;
  @IsOptional() @IsBoolean() FraudPreventionFlag?: boolean;
}

// The Node library types AcquirerID as a string; Adyen's published schema says integer. Accept both.
const IsStringOrInteger = () =>
  ValidateBy({
    name: 'isStringOrInteger',
    validator: {
      validate: (value: unknown) => typeof value === 'string' || Number.isSafeInteger(value),
      defaultMessage: () => '$property must be a string or an integer',
    },
  });

class HostStatusSchema {
  @IsDefined() @IsStringOrInteger() AcquirerID!: string | number;
  @IsOptional() @IsBoolean() IsReachableFlag?: boolean;
}

class DiagnosisResponseSchema {
  @IsObject() @ValidateNested() @Type(() => ResponseSchema) Response!: ResponseSchema;
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => POIStatusSchema)
  POIStatus?: POIStatusSchema;
  @IsOptional()
  @IsArray()
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => HostStatusSchema)
  HostStatus?: HostStatusSchema[];
}

class SaleToPOIResponseSchema {
  @IsObject()
  @ValidateNested()
  @Type(() => MessageHeaderSchema)
  MessageHeader!: MessageHeaderSchema;
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => DiagnosisResponseSchema)
  DiagnosisResponse?: DiagnosisResponseSchema;
}

export interface DiagnosisHeader {
  readonly poiId: string;
  readonly saleId?: string;
  readonly serviceId?: string;
  readonly protocolVersion?: string;
}

export interface PoiStatusView {
  /** As received; a value not in ADYEN_GLOBAL_STATUSES is also listed in `unrecognised`. */
  readonly globalStatus: OpenValue<AdyenGlobalStatus>;
  /** Only on terminals with a built-in printer. As received, like globalStatus. */
  readonly printerStatus?: OpenValue<AdyenPrinterStatus>;
  readonly communicationOk?: boolean;
  readonly cardReaderOk?: boolean;
  readonly pedOk?: boolean;
  readonly securityOk?: boolean;
  readonly fraudPrevention?: boolean;
}

export interface HostStatusView {
  readonly acquirerId: string;
  /** Absent when the terminal did not say. */
  readonly reachable?: boolean;
}

interface DiagnosisCommon {
  readonly header: DiagnosisHeader;
  /** As received; an unknown Result is read like Partial (the data that came back is used). */
  readonly result: OpenValue<AdyenResult>;
  readonly outcome: Outcome;
  /** Values of Adyen's enums this version does not know, with their dotted path, as received. */
  readonly unrecognised: readonly UnrecognisedValue[];
  /** Dotted paths of fields the schemas do not declare; they are kept in `message`. */
  readonly unknownFields: readonly string[];
  readonly poiStatus?: PoiStatusView;
  /** Empty unless the request had HostDiagnosisFlag=true (or the terminal reported hosts anyway). */
  readonly hostStatus: readonly HostStatusView[];
  readonly additionalResponse?: AdyenAdditionalResponse;
  /** `Response.AdditionalResponse` exactly as received. */
  readonly additionalResponseRaw?: string;
  /** The whole message as @adyen/api-library's model, for anything this view leaves out. */
  readonly message: SaleToPOIResponse;
}

export interface DiagnosisOk extends DiagnosisCommon {
  readonly kind: 'ok';
}

export interface DiagnosisPartial extends DiagnosisCommon {
  readonly kind: 'partial';
}

/** `Result=Failure, ErrorCondition=Busy`: the terminal or SDK is processing another request. */
export interface DiagnosisBusy extends DiagnosisCommon {
  readonly kind: 'busy';
  readonly errorCondition: 'Busy';
  readonly additionalResponseJson?: unknown;
}

export interface DiagnosisFailure extends DiagnosisCommon {
  readonly kind: 'failure';
  /** As received; an unknown one carries UNKNOWN_CONDITION's meaning and action. */
  readonly errorCondition: OpenValue<Exclude<AdyenErrorCondition, 'Busy'>>;
  readonly meaning: string;
  readonly action: string;
  /** A failure's AdditionalResponse may be Base64 JSON rather than key=value pairs; decoded here when it is. */
  readonly additionalResponseJson?: unknown;
}

/** What an ErrorCondition this version does not know means to a diagnosis caller. */
export const UNKNOWN_CONDITION = {
  meaning: 'The terminal failed the request with an ErrorCondition this version does not know.',
  action:
    'Diagnose again later; check Adyen release notes and add the condition to the code table.',
} as const;

export type ParsedDiagnosis = DiagnosisOk | DiagnosisPartial | DiagnosisBusy | DiagnosisFailure;

export interface ParseDiagnosisOptions {
  /** The request's header values: a response that does not echo them throws HEADER_MISMATCH. */
  expect?: { serviceId?: string; saleId?: string; poiId?: string };
}

/**
 * A Terminal API diagnosis response (`{"SaleToPOIResponse": {...}}`) from JSON text, UTF-8 bytes, or an object (a
 * plain object or the library's TerminalApiResponse). Returns a typed outcome, or throws AdyenProtocolError.
 */
export function parseDiagnosisResponse(
  input: string | Uint8Array | object,
  options: ParseDiagnosisOptions = {},
): ParsedDiagnosis {
  const envelope = toJson(input);
  if (!isPlainRecord(envelope)) throw schemaInvalid('the message must be a JSON object');
  if (!isPlainRecord(envelope.SaleToPOIResponse)) throw notAResponse(envelope);

  const validated = readVendorMessage(SaleToPOIResponseSchema, envelope.SaleToPOIResponse, {
    root: 'SaleToPOIResponse',
  });
  if (!validated.ok) throw schemaInvalid(describeViolations(validated.violations));
  const { MessageHeader: header, DiagnosisResponse: diagnosis } = validated.value;
  const { unrecognised, unknownFields } = validated;

  const mismatched = [
    ['MessageClass', header.MessageClass, 'Service'],
    ['MessageCategory', header.MessageCategory, 'Diagnosis'],
    ['MessageType', header.MessageType, 'Response'],
  ].filter(([, got, want]) => got !== want);
  if (mismatched.length > 0 || diagnosis === undefined) {
    throw new AdyenProtocolError(
      'UNEXPECTED_MESSAGE',
      'not a Service/Diagnosis/Response message with a DiagnosisResponse',
      {
        fields: mismatched.map(([field]) => field),
      },
    );
  }
  checkExpectedHeader(header, options.expect);

  const response = diagnosis.Response;
  const failed =
    response.ErrorCondition !== undefined &&
    (response.Result === 'Failure' || !isAdyenResult(response.Result));
  if (response.Result === 'Failure' && response.ErrorCondition === undefined) {
    throw schemaInvalid(
      'SaleToPOIResponse.DiagnosisResponse.Response: a Failure must carry an ErrorCondition',
    );
  }
  const common = {
    header: {
      poiId: header.POIID,
      ...(header.SaleID === undefined ? {} : { saleId: header.SaleID }),
      ...(header.ServiceID === undefined ? {} : { serviceId: header.ServiceID }),
      ...(header.ProtocolVersion === undefined ? {} : { protocolVersion: header.ProtocolVersion }),
    },
    result: response.Result,
    outcome: outcomeOf(response.Result, response.ErrorCondition),
    unrecognised,
    unknownFields,
    ...(diagnosis.POIStatus === undefined ? {} : { poiStatus: poiStatusView(diagnosis.POIStatus) }),
    hostStatus: (diagnosis.HostStatus ?? []).map(hostStatusView),
    ...(response.AdditionalResponse === undefined
      ? {}
      : { additionalResponseRaw: response.AdditionalResponse }),
    message: toLibraryModel(envelope.SaleToPOIResponse),
  };

  if (!failed || response.ErrorCondition === undefined) {
    const additional = response.AdditionalResponse;
    const parsed =
      additional === undefined ? {} : { additionalResponse: parseAdditionalResponse(additional) };
    return { kind: response.Result === 'Success' ? 'ok' : 'partial', ...common, ...parsed };
  }
  // A failure is reported even when its AdditionalResponse cannot be decoded: the ErrorCondition is what matters.
  const details = failureDetails(response.AdditionalResponse);
  const condition = response.ErrorCondition;
  if (condition === 'Busy') return { kind: 'busy', errorCondition: 'Busy', ...common, ...details };
  const { meaning, action } = isAdyenErrorCondition(condition)
    ? ADYEN_ERROR_CONDITIONS[condition]
    : UNKNOWN_CONDITION;
  return { kind: 'failure', errorCondition: condition, meaning, action, ...common, ...details };
}

function outcomeOf(result: string, condition: string | undefined): Outcome {
  if (!isAdyenResult(result)) return 'UNKNOWN';
  if (condition !== undefined && !isAdyenErrorCondition(condition))
    return result === 'Failure' ? 'UNKNOWN' : adyenDiagnosisOutcome(result);
  return adyenDiagnosisOutcome(result, condition);
}

function toJson(input: unknown): unknown {
  if (typeof input === 'string') return parseJson(input);
  if (input instanceof Uint8Array) {
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch {
      throw new AdyenProtocolError('MALFORMED_JSON', 'the bytes are not UTF-8');
    }
    return parseJson(text);
  }
  // A JSON round trip turns class instances (the library's models) into plain data and drops undefined fields.
  try {
    return JSON.parse(JSON.stringify(input)) as unknown;
  } catch {
    throw schemaInvalid('the message is not JSON data');
  }
}

function parseJson(text: string): unknown {
  const parsed = parseJsonText(text);
  if (parsed === undefined) throw new AdyenProtocolError('MALFORMED_JSON', 'the text is not JSON');
  return parsed.value;
}

function notAResponse(envelope: Record<string, unknown>): AdyenProtocolError {
  const request = envelope.SaleToPOIRequest;
  const event =
    isPlainRecord(request) && isPlainRecord(request.EventNotification)
      ? request.EventNotification
      : undefined;
  if (event === undefined) return schemaInvalid('SaleToPOIResponse: must be a JSON object');
  // Adyen answers some failures with an EventNotification (for example a rejected message) instead of a response.
  const eventToNotify = typeof event.EventToNotify === 'string' ? event.EventToNotify : undefined;
  const eventDetails =
    typeof event.EventDetails === 'string' ? event.EventDetails.slice(0, 200) : undefined;
  return new AdyenProtocolError(
    'UNEXPECTED_MESSAGE',
    'the terminal answered with an EventNotification',
    {
      eventToNotify,
      eventDetails,
    },
  );
}

function checkExpectedHeader(
  header: MessageHeaderSchema,
  expected: ParseDiagnosisOptions['expect'],
) {
  if (expected === undefined) return;
  const fields = (
    [
      ['ServiceID', header.ServiceID, expected.serviceId],
      ['SaleID', header.SaleID, expected.saleId],
      ['POIID', header.POIID, expected.poiId],
    ] as const
  )
    .filter(([, got, want]) => want !== undefined && got !== want)
    .map(([field]) => field);
  if (fields.length > 0) {
    throw new AdyenProtocolError(
      'HEADER_MISMATCH',
      `the response does not answer the request: ${fields.join(', ')}`,
      {
        fields,
      },
    );
  }
}

function poiStatusView(status: POIStatusSchema): PoiStatusView {
  const flags: [keyof PoiStatusView, boolean | undefined][] = [
    ['communicationOk', status.CommunicationOKFlag],
    ['cardReaderOk', status.CardReaderOKFlag],
    ['pedOk', status.PEDOKFlag],
    ['securityOk', status.SecurityOKFlag],
    ['fraudPrevention', status.FraudPreventionFlag],
  ];
  return {
    globalStatus: status.GlobalStatus,
    ...(status.PrinterStatus === undefined ? {} : { printerStatus: status.PrinterStatus }),
    ...Object.fromEntries(flags.filter(([, value]) => value !== undefined)),
  };
}

function hostStatusView(host: HostStatusSchema): HostStatusView {
  return {
    acquirerId: String(host.AcquirerID),
    ...(host.IsReachableFlag === undefined ? {} : { reachable: host.IsReachableFlag }),
  };
}

function toLibraryModel(json: unknown): SaleToPOIResponse {
  try {
    return ObjectSerializer.deserialize(json, 'SaleToPOIResponse') as SaleToPOIResponse;
  } catch {
    throw schemaInvalid('the message does not fit the Terminal API model');
  }
}

function failureDetails(
  raw: string | undefined,
): Pick<DiagnosisFailure, 'additionalResponse' | 'additionalResponseJson'> {
  if (raw === undefined) return {};
  const text = raw.includes('&') || raw.includes('%') ? undefined : decodeBase64Text(raw);
  const json = text === undefined ? undefined : parseJsonText(text);
  if (json !== undefined && isPlainRecord(json.value))
    return { additionalResponseJson: json.value };
  try {
    return { additionalResponse: parseAdditionalResponse(raw) };
  } catch {
    return {};
  }
}

function schemaInvalid(message: string): AdyenProtocolError {
  return new AdyenProtocolError('SCHEMA_INVALID', message);
}
