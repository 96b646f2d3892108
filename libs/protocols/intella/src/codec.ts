import { IntellaProtocolError, type IntellaProtocolErrorCode } from './errors';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Uint8Array)
  );
}

export function decodeUtf8(
  bytes: Uint8Array,
  code: IntellaProtocolErrorCode,
  what: string,
): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new IntellaProtocolError(code, `${what} is not valid UTF-8`);
  }
}

/** JSON text to an object; JSON.parse's SyntaxError never escapes. */
export function parseJsonObject(
  text: string,
  code: IntellaProtocolErrorCode,
  what: string,
): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new IntellaProtocolError(code, `${what} is not valid JSON`);
  }
  if (!isJsonObject(value)) throw new IntellaProtocolError(code, `${what} is not a JSON object`);
  return value;
}

/** An HTTP body as received: raw bytes, JSON text, or an already-parsed object. */
export function bodyToObject(
  body: unknown,
  code: IntellaProtocolErrorCode,
  what: string,
): JsonObject {
  if (body instanceof Uint8Array) return parseJsonObject(decodeUtf8(body, code, what), code, what);
  if (typeof body === 'string') return parseJsonObject(body, code, what);
  if (isJsonObject(body)) return body;
  throw new IntellaProtocolError(code, `${what} must be a JSON object`);
}

/** JSON.stringify that cannot throw a TypeError (BigInt, cycles) at the caller. */
export function stringifyJson(value: unknown, what: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    throw new IntellaProtocolError('MALFORMED_JSON', `${what} cannot be serialised to JSON`);
  }
  if (text === undefined)
    throw new IntellaProtocolError('MALFORMED_JSON', `${what} cannot be serialised to JSON`);
  return text;
}

/** Strict standard Base64 (line breaks tolerated, as Java encoders emit them); Buffer.from alone accepts anything. */
export function decodeBase64(text: unknown, code: IntellaProtocolErrorCode, what: string): Buffer {
  if (typeof text !== 'string')
    throw new IntellaProtocolError(code, `${what} must be a Base64 string`);
  const compact = text.replace(/[\r\n]/g, '');
  if (compact.length === 0 || compact.length % 4 !== 0 || !BASE64.test(compact)) {
    throw new IntellaProtocolError(code, `${what} is not valid Base64`);
  }
  return Buffer.from(compact, 'base64');
}
