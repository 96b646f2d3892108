import type { KV } from '@nats-io/kv';
import { isWrongLastSequence, kvJson } from '@tillbus/messaging';
import { recordKey } from '../keys';
import type { StoredRecord } from '../record/model';
import type { Note, Step } from '../record/step';

interface Cached {
  value: StoredRecord;
  revision: number;
}

export interface Written {
  key: string;
  before: StoredRecord;
  after: StoredRecord;
  revision: number;
  notes: Note[];
}

/** Runs once per successful write, before the writers' promises resolve. */
export type WriteListener = (written: Written) => Promise<void> | void;

/** A KV bucket, looked up when first used: the messaging module opens the buckets after the providers are built. */
export type Bucket = () => KV;

export interface MutateResult<T extends StoredRecord> {
  /** The record after the write (or as read, when nothing changed); null when there is no record. */
  record: T | null;
  /** This caller's step changed the record. */
  changed: boolean;
  notes: Note[];
}

interface Pending {
  step: (current: StoredRecord) => Step<StoredRecord>;
  resolve: (result: MutateResult<StoredRecord>) => void;
  reject: (error: unknown) => void;
  notes: Note[];
  changed: boolean;
}

const MAX_CAS_ATTEMPTS = 12;

/**
 * Command records in KV, changed only by compare-and-set. Changes to one key made at the same time in this
 * replica are applied in order and written together (one write instead of one per bridge event), and the last
 * revision this replica saw is cached, so a change usually costs one round trip. A stale cache costs a CAS
 * conflict and a re-read, never a lost update.
 */
export class RecordStore {
  private readonly cache = new Map<string, Cached>();
  private readonly queues = new Map<string, Pending[]>();
  private readonly listeners: WriteListener[] = [];

  constructor(
    private readonly bucket: Bucket,
    private readonly maxCached = 10_000,
  ) {}

  private get kv(): KV {
    return this.bucket();
  }

  /** `listener` learns of every successful write, with everything the steps of that write noted. */
  onWritten(listener: WriteListener): void {
    this.listeners.push(listener);
  }

  /** The record of `requestId` if it is a record on `deviceId`, read fresh. */
  async readOn(deviceId: string, requestId: string): Promise<Cached | null> {
    const found = await this.read(recordKey(requestId), { fresh: true });
    return found && found.value.deviceId === deviceId ? found : null;
  }

  async read(key: string, options: { fresh?: boolean } = {}): Promise<Cached | null> {
    if (!options.fresh) {
      const cached = this.cache.get(key);
      if (cached) return cached;
    }
    const entry = await this.kv.get(key);
    const value = kvJson.decode<StoredRecord>(entry);
    if (!value || !entry) {
      this.cache.delete(key);
      return null;
    }
    const read = { value, revision: entry.revision };
    this.remember(key, read);
    return read;
  }

  /** Writes a new record unless the key holds one; then returns what is there. */
  async create(
    key: string,
    value: StoredRecord,
  ): Promise<
    | { created: true; revision: number }
    | { created: false; existing: StoredRecord; revision: number }
  > {
    try {
      const revision = await this.kv.create(key, kvJson.encode(value));
      this.remember(key, { value, revision });
      return { created: true, revision };
    } catch (error) {
      if (!isWrongLastSequence(error)) throw error;
      const existing = await this.read(key, { fresh: true });
      if (!existing) return this.create(key, value);
      return { created: false, existing: existing.value, revision: existing.revision };
    }
  }

  /** Deletes a record that was never used (the bridge started nothing), only if nobody changed it since. */
  async remove(key: string, revision: number): Promise<boolean> {
    try {
      await this.kv.delete(key, { previousSeq: revision });
      this.cache.delete(key);
      return true;
    } catch (error) {
      if (isWrongLastSequence(error)) return false;
      throw error;
    }
  }

  /** Applies `step` to the current record with compare-and-set; concurrent calls on one key share a write. */
  mutate<T extends StoredRecord>(
    key: string,
    step: (current: T) => Step<T>,
  ): Promise<MutateResult<T>> {
    return new Promise((resolve, reject) => {
      const pending: Pending = {
        step: step as unknown as Pending['step'],
        resolve: resolve as Pending['resolve'],
        reject,
        notes: [],
        changed: false,
      };
      const queue = this.queues.get(key);
      if (queue) {
        queue.push(pending);
        return;
      }
      this.queues.set(key, [pending]);
      // one event-loop turn first: bridge messages delivered together (an instant device) share one write
      setImmediate(() => void this.drain(key));
    });
  }

  private async drain(key: string): Promise<void> {
    const queue = this.queues.get(key)!;
    while (queue.length > 0) {
      const batch = queue.splice(0);
      try {
        await this.writeBatch(key, batch);
      } catch (error) {
        for (const pending of batch) pending.reject(error);
      }
    }
    this.queues.delete(key);
  }

  private async writeBatch(key: string, batch: Pending[]): Promise<void> {
    for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
      const current = await this.read(key, { fresh: attempt > 1 });
      if (!current) {
        for (const pending of batch) pending.resolve({ record: null, changed: false, notes: [] });
        return;
      }
      let record: StoredRecord =
        current.value.kind === 'alias' ? current.value : { ...current.value, outbox: [] };
      let changed = false;
      for (const pending of batch) {
        const step = pending.step(record);
        pending.notes = step.notes;
        pending.changed = step.changed;
        if (step.changed) {
          record = step.record;
          changed = true;
        }
      }
      if (!changed) {
        for (const pending of batch) {
          pending.resolve({ record: current.value, changed: false, notes: pending.notes });
        }
        return;
      }
      let revision: number;
      try {
        revision = await this.kv.update(key, kvJson.encode(record), current.revision);
      } catch (error) {
        if (!isWrongLastSequence(error)) throw error;
        this.cache.delete(key);
        continue;
      }
      this.remember(key, { value: record, revision });
      const notes = batch.flatMap((pending) => pending.notes);
      const written = { key, before: current.value, after: record, revision, notes };
      for (const listener of this.listeners) await listener(written);
      for (const pending of batch) {
        pending.resolve({ record, changed: pending.changed, notes: pending.notes });
      }
      return;
    }
    throw new Error(
      `${key} kept changing: gave up after ${MAX_CAS_ATTEMPTS} compare-and-set attempts`,
    );
  }

  forget(key: string): void {
    this.cache.delete(key);
  }

  private remember(key: string, cached: Cached): void {
    this.cache.delete(key);
    this.cache.set(key, cached);
    if (this.cache.size > this.maxCached) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
  }
}

// ---------------------------------------------------------------- devices

export interface Holder {
  requestId: string;
  commandName: string;
  since: number;
}

/**
 * One entry per device: the command that holds it (at most one in flight, across all replicas) and the id of the
 * last transaction tillbus saw the device complete (null: unknown, for example after a command in doubt).
 */
export interface DeviceState {
  holder: Holder | null;
  lastTransactionId: string | null;
  updatedAt: number;
}

export type Acquired =
  | { acquired: true; previous: DeviceState | null }
  | { acquired: false; holder: Holder; revision: number };

export class DeviceStore {
  private readonly revisions = new Map<string, { state: DeviceState | null; revision: number }>();

  constructor(private readonly bucket: Bucket) {}

  private get kv(): KV {
    return this.bucket();
  }

  async read(deviceId: string): Promise<{ state: DeviceState | null; revision: number }> {
    const entry = await this.kv.get(deviceId);
    const state = kvJson.decode<DeviceState>(entry) ?? null;
    const read = { state, revision: entry?.revision ?? 0 };
    this.note(deviceId, read);
    return read;
  }

  /**
   * Takes the device for `holder` by compare-and-set, or says who holds it. The cached entry only saves a read
   * when it shows the device free; a holder is always reported as read from KV, never from the cache.
   */
  async acquire(deviceId: string, holder: Holder, now: number): Promise<Acquired> {
    for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
      const cached = attempt === 1 ? this.revisions.get(deviceId) : undefined;
      const known = (cached && !cached.state?.holder && cached) || (await this.read(deviceId));
      const current = known.state;
      if (current?.holder)
        return { acquired: false, holder: current.holder, revision: known.revision };
      const next: DeviceState = {
        holder,
        lastTransactionId: current?.lastTransactionId ?? null,
        updatedAt: now,
      };
      if (await this.write(deviceId, next, known.revision))
        return { acquired: true, previous: current };
    }
    throw new Error(`device ${deviceId} kept changing: gave up taking it`);
  }

  /** Takes the device from a holder whose command is over (its release was lost), if nobody moved first. */
  async takeOver(
    deviceId: string,
    holder: Holder,
    revision: number,
    now: number,
  ): Promise<DeviceState | null> {
    const current = (await this.read(deviceId)).state;
    if (!current || this.revisions.get(deviceId)?.revision !== revision) return null;
    const next: DeviceState = {
      holder,
      lastTransactionId: current.lastTransactionId,
      updatedAt: now,
    };
    return (await this.write(deviceId, next, revision)) ? current : null;
  }

  /**
   * Frees the device if `requestId` still holds it. `lastTransactionId`: a string or null records it, undefined
   * keeps what is there.
   */
  async release(
    deviceId: string,
    requestId: string,
    lastTransactionId: string | null | undefined,
    now: number,
  ): Promise<boolean> {
    for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt++) {
      const known = (attempt === 1 && this.revisions.get(deviceId)) || (await this.read(deviceId));
      const current = known.state;
      if (!current?.holder || current.holder.requestId !== requestId) {
        if (attempt === 1 && this.revisions.has(deviceId)) {
          // the cache may be behind: look once at the real entry before giving up
          this.revisions.delete(deviceId);
          continue;
        }
        return false;
      }
      const next: DeviceState = {
        holder: null,
        lastTransactionId:
          lastTransactionId === undefined ? current.lastTransactionId : lastTransactionId,
        updatedAt: now,
      };
      if (await this.write(deviceId, next, known.revision)) return true;
    }
    return false;
  }

  async keys(): Promise<string[]> {
    const out: string[] = [];
    for await (const key of await this.kv.keys()) out.push(key);
    return out;
  }

  private async write(deviceId: string, state: DeviceState, revision: number): Promise<boolean> {
    try {
      const written =
        revision > 0
          ? await this.kv.update(deviceId, kvJson.encode(state), revision)
          : await this.kv.create(deviceId, kvJson.encode(state));
      this.note(deviceId, { state, revision: written });
      return true;
    } catch (error) {
      if (!isWrongLastSequence(error)) throw error;
      this.revisions.delete(deviceId);
      return false;
    }
  }

  private note(deviceId: string, known: { state: DeviceState | null; revision: number }): void {
    this.revisions.delete(deviceId);
    this.revisions.set(deviceId, known);
    if (this.revisions.size > 20_000) {
      const oldest = this.revisions.keys().next().value;
      if (oldest !== undefined) this.revisions.delete(oldest);
    }
  }
}
