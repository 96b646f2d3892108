import type { ClassConstructor } from 'class-transformer';
import { readVendorMessage, type UnrecognisedValue } from '@tillbus/validation';
import { isRecord, schemaInvalid, standInFor, toPlain, type AntomMessageInput } from './parse';
import {
  CreateOrderRequest,
  InquireOrderDetailRequest,
  PushOrderChangeRequest,
  opaqueFieldsOf,
} from './schemas';

/**
 * A D-Store request read by the tolerant-reader rule (protocols.md, top; readVendorMessage): `value` is the request
 * exactly as D-Store sent it, unknown fields included, once its documented fields passed; an unknown enum value stays
 * in `value` and is listed in `unrecognised`.
 */
export interface DStoreRead<T> {
  value: T;
  /** Dotted paths of fields D-Store's tables (as far as we can read them) do not declare. */
  unknownFields: string[];
  unrecognised: UnrecognisedValue[];
}

/**
 * Reads one inbound D-Store request; throws AntomProtocolError (MALFORMED_JSON, or SCHEMA_INVALID naming the fields)
 * only for a documented required field missing or wrong, or one of our limits exceeded.
 */
export function readDStoreRequest<T extends object>(
  schema: ClassConstructor<T>,
  input: AntomMessageInput,
): DStoreRead<T> {
  const plain = toPlain(input);
  const read = readVendorMessage(schema, isRecord(plain) ? standInOf(schema, plain) : plain);
  if (!read.ok) throw schemaInvalid(schema.name, read.violations);
  return {
    value: plain as T,
    unknownFields: read.unknownFields,
    unrecognised: read.unrecognised,
  };
}

/**
 * What the validators see. class-transformer walks every object it copies: it drops keys such as `valueOf` and crashes
 * on a `constructor` key, so no key Object.prototype already has reaches it (none is a documented field), and opaque
 * fields are replaced by their stand-in. The caller gets the original back, never this copy.
 */
function standInOf(schema: object, plain: Record<string, unknown>): Record<string, unknown> {
  const copy = withoutPrototypeKeys(plain) as Record<string, unknown>;
  for (const field of opaqueFieldsOf(schema))
    if (field in plain) copy[field] = standInFor(plain[field]);
  return copy;
}

function withoutPrototypeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutPrototypeKeys);
  if (!isRecord(value)) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value))
    if (!(key in Object.prototype)) copy[key] = withoutPrototypeKeys(inner);
  return copy;
}

export const readCreateOrderRequest = (input: AntomMessageInput) =>
  readDStoreRequest(CreateOrderRequest, input);

export const readPushOrderChangeRequest = (input: AntomMessageInput) =>
  readDStoreRequest(PushOrderChangeRequest, input);

export const readInquireOrderDetailRequest = (input: AntomMessageInput) =>
  readDStoreRequest(InquireOrderDetailRequest, input);
