import { KvWatchInclude, type KV, type KvEntry } from '@nats-io/kv';
import { BUCKETS, createIfAbsent, kvJson, updateWithRevision } from '@tillbus/messaging';
import type { JsonLogger } from '@tillbus/observability';
import type { SessionRecord } from './session-record';

export const SESSIONS_BUCKET = BUCKETS.easycardSession.sessions;
export const SCHEDULE_BUCKET = BUCKETS.easycardSession.schedule;

const RESYNC_MS = 5 * 60_000;

function isRecord(value: unknown): value is SessionRecord {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as SessionRecord).v === 1 &&
    typeof (value as SessionRecord).deviceId === 'string' &&
    typeof (value as SessionRecord).state?.kind === 'string'
  );
}

/**
 * The sessions bucket, shared by every replica. Writes are compare-and-set (a fresh read each time), so two
 * replicas never both claim a reader. Each replica also keeps a cache fed by a KV watch, for choosing candidates
 * and for metrics; the cache is never the basis of a write.
 */
export class SessionStore {
  private readonly cache = new Map<string, { record: SessionRecord; revision: number }>();
  private primed = false;
  private stopped = false;
  private watcher?: { stop(): void };
  private lastSync = 0;

  /** The bucket is bound when the messaging module has declared it, after construction. */
  constructor(
    private readonly bucket: () => KV,
    private readonly logger: JsonLogger,
  ) {}

  private get kv(): KV {
    return this.bucket();
  }

  async start(): Promise<void> {
    await this.watch();
    await this.resync();
    this.primed = true;
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.stop();
  }

  isPrimed(): boolean {
    return this.primed;
  }

  /** Every session this replica knows of (eventually consistent; writes always re-read). */
  cached(): SessionRecord[] {
    return [...this.cache.values()].map((entry) => entry.record);
  }

  async get(deviceId: string): Promise<SessionRecord | undefined> {
    const entry = await this.kv.get(deviceId);
    const record = kvJson.decode<unknown>(entry);
    if (!isRecord(record) || !entry) return undefined;
    this.remember(record, entry.revision);
    return record;
  }

  /** Creates the record if the reader is new; returns what is stored either way. */
  async create(record: SessionRecord): Promise<{ created: boolean; record: SessionRecord }> {
    const result = await createIfAbsent(this.kv, record.deviceId, record);
    const stored = result.created ? record : result.existing;
    if (isRecord(stored)) this.remember(stored, result.revision);
    return { created: result.created, record: stored };
  }

  /**
   * Compare-and-set on a fresh read. `mutate` returns the new record, or undefined for "no change" (also when
   * the reader does not exist).
   */
  async update(
    deviceId: string,
    mutate: (record: SessionRecord) => SessionRecord | undefined,
  ): Promise<{ record: SessionRecord | undefined; changed: boolean }> {
    const result = await updateWithRevision<SessionRecord>(this.kv, deviceId, (current) =>
      isRecord(current) ? mutate(current) : undefined,
    );
    const record = isRecord(result.value) ? result.value : undefined;
    if (record && result.changed) this.remember(record, result.revision);
    return { record, changed: result.changed };
  }

  /** Reloads everything now and then, in case the watch missed something while NATS was away. */
  async maybeResync(): Promise<void> {
    if (Date.now() - this.lastSync >= RESYNC_MS) await this.resync();
  }

  async resync(): Promise<void> {
    const keys: string[] = [];
    for await (const key of await this.kv.keys()) keys.push(key);
    const seen = new Set<string>();
    for (const key of keys) {
      const entry = await this.kv.get(key);
      this.apply(entry);
      if (entry && entry.operation === 'PUT') seen.add(key);
    }
    for (const key of this.cache.keys()) if (!seen.has(key)) this.cache.delete(key);
    this.lastSync = Date.now();
  }

  private remember(record: SessionRecord, revision: number): void {
    const cached = this.cache.get(record.deviceId);
    if (!cached || cached.revision < revision)
      this.cache.set(record.deviceId, { record, revision });
  }

  private apply(entry: KvEntry | null): void {
    if (!entry) return;
    if (entry.operation !== 'PUT') {
      const cached = this.cache.get(entry.key);
      if (cached && cached.revision < entry.revision) this.cache.delete(entry.key);
      return;
    }
    const record = kvJson.decode<unknown>(entry);
    if (isRecord(record)) this.remember(record, entry.revision);
  }

  private async watch(): Promise<void> {
    const iterator = await this.kv.watch({ include: KvWatchInclude.UpdatesOnly });
    this.watcher = iterator;
    void (async () => {
      try {
        for await (const entry of iterator) this.apply(entry);
      } catch (error) {
        this.logger.event('warn', 'session watch ended', { error: String(error) });
      }
      if (!this.stopped) this.restartWatch();
    })();
  }

  /** The watch ended without being asked to: start it again (until it works) and reload what was missed. */
  private restartWatch(): void {
    setTimeout(() => {
      if (this.stopped) return;
      this.watch()
        .then(() => this.resync())
        .catch((error: unknown) => {
          this.logger.event('warn', 'cannot restart the session watch; retrying', {
            error: String(error),
          });
          this.restartWatch();
        });
    }, 1000).unref();
  }
}
