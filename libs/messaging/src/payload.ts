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
