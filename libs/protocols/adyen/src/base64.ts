const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Standard Base64 (padding optional) to UTF-8 text; undefined when it is neither. Base64 has no spaces, so a space is
 * a `+` that form decoding (AdditionalResponse) turned into one.
 */
export function decodeBase64Text(encoded: string): string | undefined {
  const value = encoded.replace(/ /g, '+');
  if (!BASE64.test(value)) return undefined;
  try {
    return utf8.decode(Buffer.from(value, 'base64'));
  } catch {
    return undefined;
  }
}

export function encodeBase64Text(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** JSON text to a value; undefined when it is not JSON. */
export function parseJsonText(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return undefined;
  }
}

export function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
