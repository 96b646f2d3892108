import { IsNotEmpty, IsOptional, IsString, Matches } from 'class-validator';
import { classifyIntellaResult, type IntellaClassification } from '@tillbus/result-codes';
import { describeViolations, validatePlain } from '@tillbus/validation';
import {
  bodyToObject,
  isJsonObject,
  parseJsonObject,
  stringifyJson,
  type JsonObject,
} from './codec';
import { IntellaProtocolError } from './errors';
import { checkEasyCardRequestData } from './schemas';
import { formatCreateTime, parseIntellaTime } from './time';
import { isTradeKey } from './trade-key';

/** Method for every EasyCard call. */
export const EASYCARD_METHOD = '31800';

export const EASYCARD_SERVICE_TYPES = [
  'DeviceQuery',
  'SignOn',
  'IdQuery',
  'BalanceQuery',
  'Payment',
  'Refund',
  'Settlement',
  'OrderQuery',
] as const;
export type EasyCardServiceType = (typeof EASYCARD_SERVICE_TYPES)[number];

const METHOD = /^\d{5}$/;
const INTELLA_TIME = /^\d{14}$/;
const STATUS_CODE = /^\d{4}$/;

export class IntellaRequestHeader {
  @Matches(METHOD)
  Method!: string;

  @IsString()
  @IsNotEmpty()
  ServiceType!: string;

  @IsString()
  @IsNotEmpty()
  MchId!: string;

  /** Sensitive: never log. Checked for form by isTradeKey, so a server can answer 7105 rather than refuse. */
  @IsString()
  @IsNotEmpty()
  TradeKey!: string;

  @Matches(INTELLA_TIME)
  CreateTime!: string;
}

/** Only StatusCode is required: an error answer may not know the method or merchant. Unknown fields are kept. */
export class IntellaResponseHeader {
  @Matches(STATUS_CODE)
  StatusCode!: string;

  @IsOptional()
  @IsString()
  StatusDesc?: string;

  @IsOptional()
  @Matches(METHOD)
  Method?: string;

  @IsOptional()
  @IsString()
  ServiceType?: string;

  @IsOptional()
  @IsString()
  MchId?: string;

  @IsOptional()
  @Matches(INTELLA_TIME)
  ResponseTime?: string;
}

export interface IntellaPlainRequest {
  Header: IntellaRequestHeader;
  /** The request Data is itself JSON text. */
  Data: string;
}

export interface IntellaPlainResponse {
  Header: IntellaResponseHeader;
  /** The seed's example carries an object; a JSON string is accepted too. */
  Data?: JsonObject | string;
}

export interface BuildRequestInput {
  serviceType: string;
  mchId: string;
  /** tradeKeyFromPassword(password): lower-case hex SHA-256. */
  tradeKey: string;
  createTime: Date;
  data: JsonObject;
  method?: string;
}

export interface BuildResponseInput {
  statusCode: string;
  statusDesc?: string;
  method?: string;
  serviceType?: string;
  mchId?: string;
  responseTime: Date;
  data?: JsonObject | null;
  /** How to put Data on the wire: an object as in the seed's example (default), or a JSON string. */
  dataAs?: 'object' | 'string';
}

function schemaError(
  what: string,
  violations: Parameters<typeof describeViolations>[0],
): IntellaProtocolError {
  return new IntellaProtocolError('SCHEMA_INVALID', `${what}: ${describeViolations(violations)}`, {
    fields: violations.map((violation) => violation.field),
  });
}

function validHeader<T extends object>(
  schema: new () => T,
  input: unknown,
  what: string,
  strict: boolean,
): T {
  const result = validatePlain(schema, input, { forbidUnknown: strict, root: what });
  if (!result.ok) throw schemaError(what, result.violations);
  return result.value;
}

export function buildPlainRequest(input: BuildRequestInput): IntellaPlainRequest {
  if (!isTradeKey(input.tradeKey)) {
    throw new IntellaProtocolError('SCHEMA_INVALID', 'TradeKey must be a lower-case hex SHA-256', {
      fields: ['Header.TradeKey'],
    });
  }
  const header = validHeader(
    IntellaRequestHeader,
    {
      Method: input.method ?? EASYCARD_METHOD,
      ServiceType: input.serviceType,
      MchId: input.mchId,
      TradeKey: input.tradeKey,
      CreateTime: formatCreateTime(input.createTime),
    },
    'Header',
    true,
  );
  checkEasyCardRequestData(input.serviceType, input.data);
  return { Header: header, Data: stringifyJson(input.data, 'Data') };
}

/** Server side: a decrypted plain request, with its Data string decoded. */
export function parsePlainRequest(body: unknown): {
  header: IntellaRequestHeader;
  data: JsonObject;
} {
  const request = bodyToObject(body, 'MALFORMED_JSON', 'the plain request');
  const extra = Object.keys(request).filter((field) => field !== 'Header' && field !== 'Data');
  if (extra.length > 0) {
    throw new IntellaProtocolError(
      'SCHEMA_INVALID',
      'the plain request has fields other than Header and Data',
      {
        fields: extra.slice(0, 10),
      },
    );
  }
  const header = validHeader(IntellaRequestHeader, request.Header, 'Header', true);
  parseIntellaTime(header.CreateTime);
  if (typeof request.Data !== 'string') {
    throw new IntellaProtocolError('SCHEMA_INVALID', 'Data must be JSON text', {
      fields: ['Data'],
    });
  }
  return { header, data: parseJsonObject(request.Data, 'MALFORMED_JSON', 'Data') };
}

export function buildPlainResponse(input: BuildResponseInput): IntellaPlainResponse {
  const header = validHeader(
    IntellaResponseHeader,
    {
      StatusCode: input.statusCode,
      ...(input.statusDesc !== undefined && { StatusDesc: input.statusDesc }),
      ...(input.method !== undefined && { Method: input.method }),
      ...(input.serviceType !== undefined && { ServiceType: input.serviceType }),
      ...(input.mchId !== undefined && { MchId: input.mchId }),
      ResponseTime: formatCreateTime(input.responseTime),
    },
    'Header',
    true,
  );
  if (input.data === undefined || input.data === null) return { Header: header };
  const data = input.dataAs === 'string' ? stringifyJson(input.data, 'Data') : input.data;
  return { Header: header, Data: data };
}

/** Client side: a decrypted plain response. `data` is null when the answer carries none. */
export function parsePlainResponse(body: unknown): {
  header: IntellaResponseHeader;
  data: JsonObject | null;
} {
  const response = bodyToObject(body, 'MALFORMED_JSON', 'the plain response');
  const header = validHeader(IntellaResponseHeader, response.Header, 'Header', false);
  if (header.ResponseTime !== undefined) parseIntellaTime(header.ResponseTime);
  const data = response.Data;
  if (data === undefined || data === null || data === '') return { header, data: null };
  if (typeof data === 'string')
    return { header, data: parseJsonObject(data, 'MALFORMED_JSON', 'Data') };
  if (isJsonObject(data)) return { header, data };
  throw new IntellaProtocolError('SCHEMA_INVALID', 'Data must be a JSON object or JSON text', {
    fields: ['Data'],
  });
}

/** The verdict on a parsed response: StatusCode, then Data.ErrorCode for EasyCard. */
export function classifyPlainResponse(response: {
  header: IntellaResponseHeader;
  data: JsonObject | null;
}): IntellaClassification {
  const errorCode = response.data?.ErrorCode;
  return classifyIntellaResult(
    response.header.StatusCode,
    typeof errorCode === 'string' ? errorCode : undefined,
  );
}
