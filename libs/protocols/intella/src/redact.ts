/** Fields that carry secrets in intella messages: the hashed trade password and the key a SignOn hands out. */
export const INTELLA_SENSITIVE_FIELDS = ['TradeKey', 'NewAESKey'] as const;

export const REDACTED = '[REDACTED]';

const SENSITIVE = new Set<string>(INTELLA_SENSITIVE_FIELDS);
const MAX_DEPTH = 32;

/**
 * A copy that is safe to log: sensitive fields masked at any depth, including inside `Data` when it is JSON text.
 * The input is never modified.
 */
export function redactIntella<T>(value: T): T {
  return redact(value, 0, new WeakSet()) as T;
}

function redact(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return redactJsonText(value, depth, seen);
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_DEPTH || seen.has(value)) return REDACTED;
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1, seen));
  const copy: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    copy[key] = SENSITIVE.has(key) ? REDACTED : redact(field, depth + 1, seen);
  }
  return copy;
}

function redactJsonText(text: string, depth: number, seen: WeakSet<object>): string {
  if (!INTELLA_SENSITIVE_FIELDS.some((field) => text.includes(field))) return text;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text;
  }
  return typeof parsed === 'object' && parsed !== null
    ? JSON.stringify(redact(parsed, depth + 1, seen))
    : text;
}
