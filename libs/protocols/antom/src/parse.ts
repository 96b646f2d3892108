import type { ClassConstructor } from 'class-transformer';
import {
  describeViolations,
  validatePlain,
  type Validated,
  type Violation,
} from '@tillbus/validation';
import { AntomProtocolError } from './errors';
import {
  CreateOrderRequest,
  DiagnosisRequest,
  DiagnosisResponse,
  InquireOrderDetailRequest,
  InquireOrderDetailResponse,
  NotifyOrderChangeRequest,
  PushOrderChangeRequest,
  ResultResponse,
  opaqueFieldsOf,
} from './schemas';

export interface ParseOptions {
  /**
   * `strip` (default) drops fields the schema does not declare, because vendors add fields without notice;
   * `forbid` refuses them (simulators and tests).
   */
  unknownFields?: 'strip' | 'forbid';
}

/** Raw JSON text or bytes (as received), or an already-parsed value. */
export type AntomMessageInput = string | Uint8Array | unknown;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses and validates one message; throws only AntomProtocolError (MALFORMED_JSON or SCHEMA_INVALID). */
export function parseAntomMessage<T extends object>(
  schema: ClassConstructor<T>,
  input: AntomMessageInput,
  options: ParseOptions = {},
): T {
  const plain = toPlain(input);
  const forbid = options.unknownFields === 'forbid';
  const opaque = isRecord(plain) ? opaqueFieldsOf(schema).filter((field) => field in plain) : [];
  const standIn: unknown = isRecord(plain) && opaque.length > 0 ? { ...plain } : plain;
  for (const field of opaque)
    (standIn as Record<string, unknown>)[field] = standInFor(
      (plain as Record<string, unknown>)[field],
    );
  let checked: Validated<T>;
  try {
    checked = validatePlain(schema, standIn, { forbidUnknown: forbid, stripUnknown: !forbid });
  } catch {
    // class-transformer walks every field before validation, and a nested `constructor` key crashes it.
    throw new AntomProtocolError(
      'SCHEMA_INVALID',
      `${schema.name}: a field holds an object class-transformer cannot read`,
    );
  }
  if (!checked.ok) throw schemaInvalid(schema.name, checked.violations);
  for (const field of opaque)
    (checked.value as Record<string, unknown>)[field] = (plain as Record<string, unknown>)[field];
  return checked.value;
}

/**
 * What the validators of an opaque field see: the same verdict, nothing for class-transformer to walk. Arrays keep
 * their length and the object-ness of each element; an object becomes its JSON text, whose length is what counts.
 */
export function standInFor(value: unknown): unknown {
  if (Array.isArray(value))
    return value.map((item) => (Array.isArray(item) ? [] : isRecord(item) ? {} : item));
  return isRecord(value) ? JSON.stringify(value) : value;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function schemaInvalid(schemaName: string, violations: Violation[]): AntomProtocolError {
  return new AntomProtocolError(
    'SCHEMA_INVALID',
    `${schemaName}: ${describeViolations(violations)}`,
    { violations },
  );
}

export function toPlain(input: AntomMessageInput): unknown {
  if (typeof input === 'string') return parseJson(input);
  if (input instanceof Uint8Array) {
    let text: string;
    try {
      text = utf8.decode(input);
    } catch {
      throw new AntomProtocolError('MALFORMED_JSON', 'body is not valid UTF-8');
    }
    return parseJson(text);
  }
  return copyAsJson(input);
}

/** An object handed in directly gets the same treatment as text: only JSON data survives, and no "__proto__". */
function copyAsJson(input: unknown): unknown {
  let text: string | undefined;
  try {
    text = JSON.stringify(input);
  } catch {
    throw new AntomProtocolError(
      'SCHEMA_INVALID',
      'value cannot be read as JSON data (cycle, BigInt or throwing getter)',
    );
  }
  return text === undefined ? input : parseJson(text);
}

function parseJson(text: string): unknown {
  try {
    // A "__proto__" key would become an object's prototype once class-transformer copies it.
    return JSON.parse(text, dropProtoKeys);
  } catch {
    throw new AntomProtocolError('MALFORMED_JSON', 'body is not valid JSON');
  }
}

function dropProtoKeys(key: string, value: unknown): unknown {
  return key === '__proto__' ? undefined : value;
}

/** class-validator refuses a class without decorated fields, so the empty body is checked here by hand. */
export function parseDiagnosisRequest(
  input: AntomMessageInput,
  options: ParseOptions = {},
): DiagnosisRequest {
  const plain = toPlain(input);
  const violations: Violation[] = [];
  if (!isRecord(plain)) {
    violations.push({ field: '(root)', problems: ['must be a JSON object'] });
  } else if (options.unknownFields === 'forbid') {
    for (const field of Object.keys(plain))
      violations.push({ field, problems: [`property ${field} should not exist`] });
  }
  if (violations.length > 0) throw schemaInvalid(DiagnosisRequest.name, violations);
  return new DiagnosisRequest();
}

export const parseDiagnosisResponse = (input: AntomMessageInput, options?: ParseOptions) =>
  parseAntomMessage(DiagnosisResponse, input, options);

export const parseInquireOrderDetailRequest = (input: AntomMessageInput, options?: ParseOptions) =>
  parseAntomMessage(InquireOrderDetailRequest, input, options);

export const parseInquireOrderDetailResponse = (input: AntomMessageInput, options?: ParseOptions) =>
  parseAntomMessage(InquireOrderDetailResponse, input, options);

export const parseCreateOrderRequest = (input: AntomMessageInput, options?: ParseOptions) =>
  parseAntomMessage(CreateOrderRequest, input, options);

export const parsePushOrderChangeRequest = (input: AntomMessageInput, options?: ParseOptions) =>
  parseAntomMessage(PushOrderChangeRequest, input, options);

export const parseNotifyOrderChangeRequest = (input: AntomMessageInput, options?: ParseOptions) =>
  parseAntomMessage(NotifyOrderChangeRequest, input, options);

/** Answers that carry only `result`: createOrder, pushOrderChange and notifyOrderChange responses. */
export const parseResultResponse = (input: AntomMessageInput, options?: ParseOptions) =>
  parseAntomMessage(ResultResponse, input, options);
