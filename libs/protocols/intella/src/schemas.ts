import { Equals, IsNotEmpty, IsOptional, IsString, Matches } from 'class-validator';
import { describeViolations, validatePlain } from '@tillbus/validation';
import { isJsonObject, type JsonObject } from './codec';
import { IntellaProtocolError } from './errors';

/** DeviceQuery asks about every reader bound to the MchId, not one reader. */
export const DEVICE_QUERY_DEVICE_ID = '00000000';

const DIGITS = /^\d+$/;

/** Seed: DeviceId and Retry ("fill in 0") are both mandatory and both strings. */
export class SignOnRequestData {
  @IsString()
  @IsNotEmpty()
  DeviceId!: string;

  @Matches(DIGITS)
  Retry!: string;
}

/** Field names exactly as the seed's SignOn response; none is marked mandatory there except what we classify on. */
export class SignOnResponseData {
  @IsOptional()
  @IsString()
  DeviceID?: string;

  @IsOptional()
  @IsString()
  NewDeviceID?: string;

  @IsOptional()
  @IsString()
  TXNResult?: string;

  @IsOptional()
  @Matches(DIGITS)
  Retry?: string;

  @IsString()
  @IsNotEmpty()
  ErrorCode!: string;

  @IsOptional()
  @IsString()
  DongleDeviceID?: string;

  /** SENSITIVE: key material. Never log; redactIntella masks it. */
  @IsOptional()
  @IsString()
  NewAESKey?: string;
}

/** Only DeviceId 00000000 is documented; Retry is assumed to work as on SignOn; other fields pass through. */
export class DeviceQueryRequestData {
  @Equals(DEVICE_QUERY_DEVICE_ID)
  DeviceId!: string;

  @IsOptional()
  @Matches(DIGITS)
  Retry?: string;
}

/**
 * The fields shared by every EasyCard answer, as far as the seed shows them. The name of the field that lists the
 * readers (DeviceQuery) and the Settlement totals are not documented: they pass through unvalidated.
 */
export class EasyCardResponseData {
  @IsOptional()
  @IsString()
  ErrorCode?: string;

  @IsOptional()
  @IsString()
  TXNResult?: string;

  @IsOptional()
  @Matches(DIGITS)
  Retry?: string;
}

export class DeviceQueryResponseData extends EasyCardResponseData {}

/** Undocumented beyond its existence: assumed to address one reader like SignOn; other fields pass through. */
export class SettlementRequestData {
  @IsString()
  @IsNotEmpty()
  DeviceId!: string;

  @IsOptional()
  @Matches(DIGITS)
  Retry?: string;
}

export class SettlementResponseData extends EasyCardResponseData {}

/** Per ServiceType: the Data schemas, and whether a request may carry fields the schema does not name. */
export const EASYCARD_DATA_SCHEMAS = {
  SignOn: { request: SignOnRequestData, response: SignOnResponseData, strictRequest: true },
  DeviceQuery: {
    request: DeviceQueryRequestData,
    response: DeviceQueryResponseData,
    strictRequest: false,
  },
  Settlement: {
    request: SettlementRequestData,
    response: SettlementResponseData,
    strictRequest: false,
  },
} as const;

export type EasyCardSchemaServiceType = keyof typeof EASYCARD_DATA_SCHEMAS;

type RequestDataOf<S extends EasyCardSchemaServiceType> = InstanceType<
  (typeof EASYCARD_DATA_SCHEMAS)[S]['request']
>;
type ResponseDataOf<S extends EasyCardSchemaServiceType> = InstanceType<
  (typeof EASYCARD_DATA_SCHEMAS)[S]['response']
>;

function hasSchema(serviceType: string): serviceType is EasyCardSchemaServiceType {
  return Object.prototype.hasOwnProperty.call(EASYCARD_DATA_SCHEMAS, serviceType);
}

function validData<T extends object>(
  schema: new () => T,
  data: unknown,
  strict: boolean,
  what: string,
): T {
  const result = validatePlain(schema, data, { forbidUnknown: strict, root: 'Data' });
  if (!result.ok) {
    throw new IntellaProtocolError(
      'SCHEMA_INVALID',
      `${what}: ${describeViolations(result.violations)}`,
      {
        fields: result.violations.map((violation) => violation.field),
      },
    );
  }
  return result.value;
}

/** Checks a request's Data when its ServiceType has a schema here; other ServiceTypes only need a JSON object. */
export function checkEasyCardRequestData(serviceType: string, data: unknown): void {
  if (!isJsonObject(data)) {
    throw new IntellaProtocolError('SCHEMA_INVALID', 'Data must be a JSON object', {
      fields: ['Data'],
    });
  }
  if (!hasSchema(serviceType)) return;
  const { request, strictRequest } = EASYCARD_DATA_SCHEMAS[serviceType];
  validData(request as new () => object, data, strictRequest, `${serviceType} request Data`);
}

export function parseEasyCardRequestData<S extends EasyCardSchemaServiceType>(
  serviceType: S,
  data: unknown,
): RequestDataOf<S> {
  const { request, strictRequest } = EASYCARD_DATA_SCHEMAS[serviceType];
  return validData(
    request as new () => RequestDataOf<S>,
    data,
    strictRequest,
    `${serviceType} request Data`,
  );
}

/** Response Data keeps fields the schema does not name: intella may add some, and DeviceQuery's list is one. */
export function parseEasyCardResponseData<S extends EasyCardSchemaServiceType>(
  serviceType: S,
  data: unknown,
): ResponseDataOf<S> {
  const { response } = EASYCARD_DATA_SCHEMAS[serviceType];
  return validData(
    response as new () => ResponseDataOf<S>,
    data,
    false,
    `${serviceType} response Data`,
  );
}

export type DeviceListEntry = string | JsonObject;

/**
 * The readers a DeviceQuery answer lists. Their field name is not documented, so the caller names it (config);
 * the list may be an array or JSON text holding one, as intella nests JSON in strings elsewhere.
 */
export function readDeviceList(data: JsonObject, field: string): DeviceListEntry[] {
  let list: unknown = Object.prototype.hasOwnProperty.call(data, field) ? data[field] : undefined;
  if (typeof list === 'string') list = parseJsonArray(list, field);
  if (!Array.isArray(list)) {
    throw new IntellaProtocolError('SCHEMA_INVALID', `Data.${field} must be a list of readers`, {
      fields: [`Data.${field}`],
    });
  }
  const entries = list as unknown[];
  if (!entries.every((entry) => typeof entry === 'string' || isJsonObject(entry))) {
    throw new IntellaProtocolError(
      'SCHEMA_INVALID',
      `Data.${field} entries must be strings or objects`,
      {
        fields: [`Data.${field}`],
      },
    );
  }
  return entries as DeviceListEntry[];
}

function parseJsonArray(text: string, field: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new IntellaProtocolError('MALFORMED_JSON', `Data.${field} is not valid JSON`);
  }
}
