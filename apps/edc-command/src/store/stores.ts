import type { KV } from '@nats-io/kv';
import {
  type CasResult,
  compareAndSet,
  createIfAbsent,
  type CreateResult,
  deleteIfRevision,
  immediateRetries,
  kvJson,
  type Mutation,
  readRevisioned,
  type Revisioned,
  writeIfRevision,
} from '@tillbus/messaging';
import { recordKey } from './keys';
import {
  trimOutbox,
  type StoredCancel,
  type StoredCommand,
  type StoredRecord,
} from '../record/model';
import type { Note, Step } from '../record/step';

type Cached = Revisioned<StoredRecord>;

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

const CAS_RETRY = immediateRetries(12);

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
  private ackedThrough: (record: StoredCommand | StoredCancel) => number = () => 0;

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

  /**
   * Where this replica knows the stream holds a record's events through: each write drops them from the record's
   * outbox (EventPublisher).
   */
  trimEventsWith(ackedThrough: (record: StoredCommand | StoredCancel) => number): void {
    this.ackedThrough = ackedThrough;
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
    const read = await readRevisioned<StoredRecord>(this.kv, key);
    if (!read) {
      this.cache.delete(key);
      return null;
    }
    this.remember(key, read);
    return read;
  }

  /** Writes a new record unless the key holds one; then returns what is there. */
  async create(key: string, value: StoredRecord): Promise<CreateResult<StoredRecord>> {
    const result = await createIfAbsent(this.kv, key, value);
    this.remember(key, {
      value: result.created ? value : result.existing,
      revision: result.revision,
    });
    return result;
  }

  /** Deletes a record that was never used (the bridge started nothing), only if nobody changed it since. */
  async remove(key: string, revision: number): Promise<boolean> {
    const removed = await deleteIfRevision(this.kv, key, revision);
    if (removed) this.cache.delete(key);
    return removed;
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
    let before: StoredRecord | undefined;
    const result = await compareAndSet<StoredRecord>(
      this.kv,
      key,
      (current) => {
        before = current;
        if (!current) return undefined;
        let record: StoredRecord =
          current.kind === 'alias' ? current : trimOutbox(current, this.ackedThrough(current));
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
        return changed ? record : undefined;
      },
      // the cache is only this replica's view: a message another replica's write made relevant must not be
      // judged stale against it
      { known: this.cache.get(key), confirmUnchanged: true, retry: CAS_RETRY },
    );
    if (!result.ok) {
      this.cache.delete(key);
      // a plain Error on purpose: a CasConflictError carries a code, and would reach clients as that code
      throw new Error(
        `${key} kept changing: gave up after ${result.attempts} compare-and-set attempts`,
      );
    }
    if (!result.value || !before) {
      this.cache.delete(key);
      for (const pending of batch) pending.resolve({ record: null, changed: false, notes: [] });
      return;
    }
    const record = result.value;
    this.remember(key, { value: record, revision: result.revision });
    if (!result.changed) {
      for (const pending of batch)
        pending.resolve({ record, changed: false, notes: pending.notes });
      return;
    }
    const notes = batch.flatMap((pending) => pending.notes);
    const written = { key, before, after: record, revision: result.revision, notes };
    for (const listener of this.listeners) await listener(written);
    for (const pending of batch) {
      pending.resolve({ record, changed: pending.changed, notes: pending.notes });
    }
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

/** What this replica last read or wrote of a device's entry; revision 0: the key holds nothing. */
interface KnownDevice {
  state: DeviceState | null;
  revision: number;
}

export class DeviceStore {
  private readonly revisions = new Map<string, KnownDevice>();

  constructor(private readonly bucket: Bucket) {}

  private get kv(): KV {
    return this.bucket();
  }

  async read(deviceId: string): Promise<KnownDevice> {
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
    const cached = this.revisions.get(deviceId);
    let previous: DeviceState | null = null;
    const result = await this.compareAndSet(
      deviceId,
      (current) => {
        previous = current ?? null;
        if (current?.holder) return undefined;
        return { holder, lastTransactionId: current?.lastTransactionId ?? null, updatedAt: now };
      },
      cached && !cached.state?.holder ? cached : undefined,
    );
    if (!result.ok) throw new Error(`device ${deviceId} kept changing: gave up taking it`);
    if (result.changed) return { acquired: true, previous };
    return { acquired: false, holder: result.value!.holder!, revision: result.revision };
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
    const written = await writeIfRevision(this.kv, deviceId, next, revision);
    if (written === undefined) {
      this.revisions.delete(deviceId);
      return null;
    }
    this.note(deviceId, { state: next, revision: written });
    return current;
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
    const free = (current: DeviceState | undefined): DeviceState | undefined =>
      current?.holder?.requestId !== requestId
        ? undefined
        : {
            holder: null,
            lastTransactionId:
              lastTransactionId === undefined ? current.lastTransactionId : lastTransactionId,
            updatedAt: now,
          };
    const cached = this.revisions.get(deviceId);
    let result = await this.compareAndSet(deviceId, free, cached);
    if (cached && result.ok && !result.changed) {
      // the cache may be behind: look once at the real entry before giving up
      this.revisions.delete(deviceId);
      result = await this.compareAndSet(deviceId, free, undefined);
    }
    return result.ok && result.changed;
  }

  async keys(): Promise<string[]> {
    const out: string[] = [];
    for await (const key of await this.kv.keys()) out.push(key);
    return out;
  }

  /** compareAndSet on the device's entry, starting from `known` when given, noting what it read or wrote. */
  private async compareAndSet(
    deviceId: string,
    mutate: Mutation<DeviceState>,
    known: KnownDevice | undefined,
  ): Promise<CasResult<DeviceState>> {
    const result = await compareAndSet(this.kv, deviceId, mutate, {
      known: known && asRevisioned(known),
      retry: CAS_RETRY,
    });
    if (!result.ok) this.revisions.delete(deviceId);
    else if (result.value) this.note(deviceId, { state: result.value, revision: result.revision });
    return result;
  }

  private note(deviceId: string, known: KnownDevice): void {
    this.revisions.delete(deviceId);
    this.revisions.set(deviceId, known);
    if (this.revisions.size > 20_000) {
      const oldest = this.revisions.keys().next().value;
      if (oldest !== undefined) this.revisions.delete(oldest);
    }
  }
}

/**
 * A known entry as compareAndSet takes it: null for a key that holds nothing. An unreadable value at a revision
 * (undefined) cannot be written over blind, so compareAndSet reads it.
 */
function asRevisioned(known: KnownDevice): Revisioned<DeviceState> | null | undefined {
  if (known.state) return { value: known.state, revision: known.revision };
  return known.revision === 0 ? null : undefined;
}
