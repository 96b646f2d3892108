export type DecodedPayload = { ok: true; value: unknown } | { ok: false; reason: string };

/**
 * The one decoder for JSON carried on NATS (requests, replies, stream messages). It never throws: callers
 * choose what a malformed payload means (PARAM_ILLEGAL, a dead letter, MALFORMED_REPLY). An empty payload is
 * `whenEmpty`, because an empty body means different things on each path.
 */
export function decodeJsonPayload(data: Uint8Array, whenEmpty: unknown): DecodedPayload {
  if (data.length === 0) return { ok: true, value: whenEmpty };
  try {
    return {
      ok: true,
      value: JSON.parse(
        Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'),
      ),
    };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}

/**
 * JSON with sorted keys and no undefined members: the same content always gives the same text (and hash), whatever
 * order its writer put the keys in. For idempotency keys and fingerprints of what a caller sent.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
