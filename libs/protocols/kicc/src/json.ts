import { KiccProtocolError } from './errors';

/** NATS allows 1 MB; a bridge message with acquirerMetaData and signData stays far below this. */
export const MAX_BRIDGE_MESSAGE_BYTES = 256 * 1024;

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Bytes or text to a JSON value, or a KiccProtocolError; never any other exception. */
export function decodeJson(input: unknown, maxBytes = MAX_BRIDGE_MESSAGE_BYTES): unknown {
  const text = toText(input, maxBytes);
  try {
    return JSON.parse(text, (key, value: unknown) => {
      // a `__proto__` key would replace the prototype of the class instance the validator builds
      if (FORBIDDEN_KEYS.has(key))
        throw new KiccProtocolError('INVALID_JSON', `key "${key}" is not allowed`);
      return value;
    });
  } catch (error) {
    if (error instanceof KiccProtocolError) throw error;
    throw new KiccProtocolError('INVALID_JSON');
  }
}

function toText(input: unknown, maxBytes: number): string {
  if (typeof input === 'string') {
    if (Buffer.byteLength(input, 'utf8') > maxBytes) throw new KiccProtocolError('TOO_LARGE');
    return input;
  }
  if (input instanceof Uint8Array) {
    if (input.byteLength > maxBytes) throw new KiccProtocolError('TOO_LARGE');
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch {
      throw new KiccProtocolError('INVALID_JSON', 'the message is not valid UTF-8');
    }
  }
  throw new KiccProtocolError('INVALID_INPUT');
}
