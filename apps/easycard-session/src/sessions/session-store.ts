import type { KV } from '@nats-io/kv';
import {
  BUCKETS,
  createIfAbsent,
  KvMirror,
  readRevisioned,
  updateWithRevision,
} from '@tillbus/messaging';
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
 * replicas never both claim a reader. Each replica also keeps a mirror fed by a KV watch, for choosing candidates
 * and for metrics; the mirror is never the basis of a write.
 */
export class SessionStore {
  private mirror?: KvMirror<SessionRecord>;
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
    this.mirror ??= new KvMirror<SessionRecord>(this.kv, {
      name: 'session',
      decode: (value) => (isRecord(value) ? value : undefined),
      logger: this.logger,
      rewatchDelayMs: 1000,
    });
    this.mirror.start();
    await this.mirror.ready;
    this.lastSync = Date.now();
  }

  stop(): void {
    this.mirror?.stop();
  }

  isPrimed(): boolean {
    return this.mirror?.isLoaded ?? false;
  }

  /** Every session this replica knows of (eventually consistent; writes always re-read). */
  cached(): SessionRecord[] {
    return this.mirror ? [...this.mirror.values()].map((entry) => entry.value) : [];
  }

  async get(deviceId: string): Promise<SessionRecord | undefined> {
    const stored = await readRevisioned<unknown>(this.kv, deviceId);
    if (!stored || !isRecord(stored.value)) return undefined;
    this.remember(stored.value, stored.revision);
    return stored.value;
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

  /** Loads everything again now and then, in case the watch missed something while NATS was away. */
  maybeResync(): void {
    if (Date.now() - this.lastSync < RESYNC_MS) return;
    this.lastSync = Date.now();
    this.mirror?.reload();
  }

  private remember(record: SessionRecord, revision: number): void {
    this.mirror?.remember(record.deviceId, record, revision);
  }
}
