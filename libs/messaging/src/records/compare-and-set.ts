import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { KV, KvEntry } from '@nats-io/kv';
import { immediateRetries, pauseAfter, type RetryPolicy } from './retry';

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

/** A value and the KV revision it was read or written at. */
export interface Revisioned<T> {
  value: T;
  revision: number;
}

export type CreateResult<T> =
  { created: true; revision: number } | { created: false; existing: T; revision: number };

/** The error KV gives when a write named a revision (or "absent") that is no longer current. */
export function isWrongLastSequence(error: unknown): boolean {
  if (!(error instanceof JetStreamApiError))
    return /wrong last sequence|key exists/i.test(String(error));
  return (
    error.code === JetStreamApiCodes.StreamWrongLastSequence ||
    /wrong last sequence|key exists/i.test(error.message)
  );
}

/**
 * One compare-and-set attempt: writes `value` only if the key is still at `revision` (0: holds nothing, or only a
 * delete marker). Returns the new revision, or undefined when someone else wrote first.
 */
export async function writeIfRevision(
  kv: KV,
  key: string,
  value: unknown,
  revision: number,
): Promise<number | undefined> {
  try {
    return revision > 0
      ? await kv.update(key, kvJson.encode(value), revision)
      : await kv.create(key, kvJson.encode(value));
  } catch (error) {
    if (isWrongLastSequence(error)) return undefined;
    throw error;
  }
}

/** Deletes the key only if it is still at `revision`; false when someone else wrote first. */
export async function deleteIfRevision(kv: KV, key: string, revision: number): Promise<boolean> {
  try {
    await kv.delete(key, { previousSeq: revision });
    return true;
  } catch (error) {
    if (isWrongLastSequence(error)) return false;
    throw error;
  }
}

/**
 * Writes `value` only if the key holds nothing: the building block for idempotency keys and leases. When the key
 * exists, returns what is there, so the caller can compare (same request again, or a different one).
 */
export async function createIfAbsent<T>(kv: KV, key: string, value: T): Promise<CreateResult<T>> {
  const revision = await writeIfRevision(kv, key, value, 0);
  if (revision !== undefined) return { created: true, revision };
  const current = await readRevisioned<T>(kv, key);
  if (!current) {
    // Deleted between our create and get: try once more rather than report a phantom.
    return { created: true, revision: await kv.create(key, kvJson.encode(value)) };
  }
  return { created: false, existing: current.value, revision: current.revision };
}

/** The key's value and revision, or undefined when it holds nothing readable. */
export async function readRevisioned<T>(kv: KV, key: string): Promise<Revisioned<T> | undefined> {
  const entry = await kv.get(key);
  const value = kvJson.decode<T>(entry);
  return value === undefined || !entry ? undefined : { value, revision: entry.revision };
}

/** `current` is undefined when the key holds nothing; returning undefined means "no change". */
export type Mutation<T> = (current: T | undefined, revision: number) => T | undefined;

export interface CasOptions<T> {
  /** Default: 10 attempts, no pause (every conflict has a winner). */
  retry?: RetryPolicy;
  /**
   * What the caller believes is stored (a cache, a watched mirror): the first attempt starts from it instead of
   * reading. A stale guess costs one conflict and a fresh read, never a lost update.
   */
  known?: Revisioned<T> | null;
  /**
   * A stale guess that the mutation leaves unchanged writes nothing, so no conflict reveals it. With this set, "no
   * change" decided on `known` is decided again on a fresh read: for a cache nothing keeps current, where an update
   * another process wrote would otherwise be judged (and dropped) against an older value.
   */
  confirmUnchanged?: boolean;
  /** Wraps each KV round trip (a timeout, an error translation); mutate runs outside it. */
  kvCall?: <R>(call: () => Promise<R>) => Promise<R>;
}

export type CasResult<T> =
  | { ok: true; value: T | undefined; revision: number; changed: boolean }
  | { ok: false; conflict: true; key: string; attempts: number };

/**
 * Read, change, write back only if nobody wrote in between; on a conflict, read again and retry as the policy
 * says. Returns the stored value and its revision, or a typed conflict once the attempts are used up.
 */
export async function compareAndSet<T>(
  kv: KV,
  key: string,
  mutate: Mutation<T>,
  options: CasOptions<T> = {},
): Promise<CasResult<T>> {
  const retry = options.retry ?? DEFAULT_CAS_RETRY;
  const call = options.kvCall ?? ((op) => op());
  let guess = options.known;
  for (let attempt = 1; attempt <= retry.maxAttempts; attempt++) {
    const fromGuess = guess !== undefined;
    const known = fromGuess ? guess : await call(() => readRaw<T>(kv, key));
    guess = undefined;
    const current = known?.value;
    // A deleted key still has an entry (a delete marker), whose revision the update must name.
    const revision = current === undefined ? 0 : known!.revision;
    const next = mutate(current, revision);
    if (next === undefined) {
      if (fromGuess && options.confirmUnchanged) {
        attempt--;
        continue;
      }
      return { ok: true, value: current, revision, changed: false };
    }
    const written = await call(() => writeIfRevision(kv, key, next, known?.revision ?? 0));
    if (written !== undefined) return { ok: true, value: next, revision: written, changed: true };
    if (attempt < retry.maxAttempts) await pauseAfter(retry, attempt);
  }
  return { ok: false, conflict: true, key, attempts: retry.maxAttempts };
}

export class CasConflictError extends Error {
  override readonly name = 'CasConflictError';
  readonly code = 'CAS_CONFLICT';
  constructor(key: string, attempts: number) {
    super(`${key} kept changing under us: gave up after ${attempts} compare-and-set attempts`);
  }
}

/** compareAndSet for callers that treat running out of attempts as an error (CasConflictError). */
export async function updateWithRevision<T>(
  kv: KV,
  key: string,
  mutate: Mutation<T>,
  maxAttempts = DEFAULT_CAS_ATTEMPTS,
): Promise<{ value: T | undefined; revision: number; changed: boolean }> {
  const result = await compareAndSet(kv, key, mutate, { retry: immediateRetries(maxAttempts) });
  if (!result.ok) throw new CasConflictError(key, result.attempts);
  return { value: result.value, revision: result.revision, changed: result.changed };
}

const DEFAULT_CAS_ATTEMPTS = 10;
const DEFAULT_CAS_RETRY = immediateRetries(DEFAULT_CAS_ATTEMPTS);

/** The entry's revision even for a delete marker (value undefined), which an update must name. */
async function readRaw<T>(
  kv: KV,
  key: string,
): Promise<{ value: T | undefined; revision: number } | null> {
  const entry = await kv.get(key);
  return entry ? { value: kvJson.decode<T>(entry), revision: entry.revision } : null;
}
