import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { KV, KvEntry } from '@nats-io/kv';

export type CreateResult<T> =
  { created: true; revision: number } | { created: false; existing: T; revision: number };

/** JSON values in KV. Entries that are not valid JSON read as undefined rather than crashing a caller. */
export const kvJson = {
  encode: (value: unknown): string => JSON.stringify(value),
  decode<T>(entry: KvEntry | null | undefined): T | undefined {
    if (!entry || entry.operation !== 'PUT' || entry.length === 0) return undefined;
    try {
      return entry.json<T>();
    } catch {
      return undefined;
    }
  },
};

/**
 * Writes `value` only if the key holds nothing: the building block for idempotency keys and leases. When the key
 * exists, returns what is there, so the caller can compare (same request again, or a different one).
 */
export async function createIfAbsent<T>(kv: KV, key: string, value: T): Promise<CreateResult<T>> {
  try {
    const revision = await kv.create(key, kvJson.encode(value));
    return { created: true, revision };
  } catch (error) {
    if (!isWrongLastSequence(error)) throw error;
    const entry = await kv.get(key);
    const existing = kvJson.decode<T>(entry);
    if (existing === undefined || !entry) {
      // Deleted between our create and get: try once more rather than report a phantom.
      const revision = await kv.create(key, kvJson.encode(value));
      return { created: true, revision };
    }
    return { created: false, existing, revision: entry.revision };
  }
}

export class CasConflictError extends Error {
  override readonly name = 'CasConflictError';
  readonly code = 'CAS_CONFLICT';
  constructor(key: string, attempts: number) {
    super(`${key} kept changing under us: gave up after ${attempts} compare-and-set attempts`);
  }
}

export type Mutation<T> = (current: T | undefined, revision: number) => T | undefined;

/**
 * Read, change, write back only if nobody wrote in between; on a conflict, read again and retry. `mutate`
 * returning undefined means "no change". Returns the stored value and its revision.
 */
export async function updateWithRevision<T>(
  kv: KV,
  key: string,
  mutate: Mutation<T>,
  maxAttempts = 10,
): Promise<{ value: T | undefined; revision: number; changed: boolean }> {
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    // A deleted key still has an entry (a delete marker), whose revision the update must name.
    const entry = await kv.get(key);
    const current = kvJson.decode<T>(entry);
    const revision = current === undefined ? 0 : entry!.revision;
    const next = mutate(current, revision);
    if (next === undefined) return { value: current, revision, changed: false };
    try {
      const written = entry
        ? await kv.update(key, kvJson.encode(next), entry.revision)
        : await kv.create(key, kvJson.encode(next));
      return { value: next, revision: written, changed: true };
    } catch (error) {
      if (!isWrongLastSequence(error)) throw error;
    }
  }
  throw new CasConflictError(key, maxAttempts);
}

export function isWrongLastSequence(error: unknown): boolean {
  if (!(error instanceof JetStreamApiError))
    return /wrong last sequence|key exists/i.test(String(error));
  return (
    error.code === JetStreamApiCodes.StreamWrongLastSequence ||
    /wrong last sequence|key exists/i.test(error.message)
  );
}
