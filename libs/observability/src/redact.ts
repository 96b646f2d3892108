import { describeError } from './logged-error';

export const REDACTED = '[REDACTED]';

/**
 * Field names whose values never reach a log line: keys, signatures, TradeKey, AES keys, passwords, tokens and
 * card data. Matched case-insensitively on the name with `-` and `_` removed.
 */
const SENSITIVE_NAME =
  /(secret|password|passphrase|privatekey|aeskey|symmetrickey|apikey|tradekey|signature|authorization|cookie|token|acquirermetadata|cardnumber|^pan$|track[12]?(data)?$|cvv|cvc|pinblock|credential)/i;

// 13-19 digits, optionally grouped by spaces or dashes: the shape of a card number.
const PAN_LIKE = /\b\d(?:[ -]?\d){12,18}\b/g;

export function isSensitiveName(name: string): boolean {
  return SENSITIVE_NAME.test(name.replace(/[-_]/g, ''));
}

/** Keeps the BIN (first 6 digits), masks the rest. */
export function maskCardNumbers(text: string): string {
  return text.replace(PAN_LIKE, (match) => {
    const digits = match.replace(/\D/g, '');
    return `${digits.slice(0, 6)}${'*'.repeat(digits.length - 6)}`;
  });
}

/** A deep copy with every sensitive field replaced and card numbers masked; safe on cycles and odd values. */
export function redact(value: unknown, seen: WeakSet<object> = new WeakSet()): unknown {
  if (typeof value === 'string') return maskCardNumbers(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[Circular]';
  seen.add(value);
  if (value instanceof Error) {
    return describeError(value, {
      fields: (fields) => redact(fields, seen) as Record<string, unknown>,
      text: maskCardNumbers,
    });
  }
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return `[${value.byteLength} bytes]`;
  if (Array.isArray(value)) return value.map((item) => redact(item, seen));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = isSensitiveName(key) ? REDACTED : redact(item, seen);
  }
  return out;
}
