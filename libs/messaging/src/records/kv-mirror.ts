import type { KV, KvWatchEntry } from '@nats-io/kv';
import type { QueuedIterator } from '@nats-io/transport-node';
import { BackgroundTaskLog } from '@tillbus/observability';
import { sleep, systemClock, type Clock } from './clock';
import { kvJson, type Revisioned } from './compare-and-set';

/** Where a mirror reports a lost watch and its return; JsonLogger fits. */
export interface MirrorLogger {
  event(level: 'warn' | 'info', message: string, fields: Record<string, unknown>): void;
}

export interface KvMirrorOptions<T> {
  /** Named in logs. */
  name: string;
  /**
   * Turns a stored JSON value into T; undefined treats the entry as absent. The entry is there for what KV knows
   * about it (its revision, when the server stored it).
   */
  decode: (value: unknown, entry: KvWatchEntry) => T | undefined;
  logger: MirrorLogger;
  /** Times the pause before watching again; the system clock unless a test drives time. */
  clock?: Clock;
  /** Pause before watching again after a lost watch. */
  rewatchDelayMs?: number;
  /** Every change as this replica learns it; value undefined when the key went away. */
  onChange?: (key: string, value: T | undefined) => void;
}

/**
 * An in-memory copy of a KV bucket, kept current by a watch: every replica reads from memory and writes through
 * KV. A (re)watch loads the whole bucket again and forgets keys that vanished meanwhile (a delete the watch missed,
 * or an entry KV expired without telling watchers); `reload()` asks for that on purpose.
 */
export class KvMirror<T> {
  private readonly entries = new Map<string, Revisioned<T>>();
  private iterator?: QueuedIterator<KvWatchEntry>;
  private stopped = false;
  private started = false;
  private reloadAsked = false;
  private loaded = false;
  /** Keys known to exist during a (re)load: what the load did not see and nobody wrote meanwhile is forgotten. */
  private seen?: Set<string>;
  private markLoaded!: () => void;
  /** A watch lost during an outage fails every rewatchDelayMs: one line a minute says so. */
  private readonly failures: BackgroundTaskLog;
  /** Resolves once the first full load is in memory. */
  readonly ready = new Promise<void>((resolve) => (this.markLoaded = resolve));

  constructor(
    private readonly kv: KV,
    private readonly options: KvMirrorOptions<T>,
  ) {
    this.failures = new BackgroundTaskLog(
      {
        event: (level, msg, fields = {}) =>
          options.logger.event(level === 'info' ? 'info' : 'warn', msg, fields),
      },
      { level: 'warn' },
    );
  }

  private get task(): string {
    return `${this.options.name} watch`;
  }

  get isLoaded(): boolean {
    return this.loaded;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): Revisioned<T> | undefined {
    return this.entries.get(key);
  }

  values(): IterableIterator<Revisioned<T>> {
    return this.entries.values();
  }

  /** Records our own successful write at once, so the next read does not wait for the watch. */
  remember(key: string, value: T | undefined, revision: number): void {
    this.seen?.add(key);
    const known = this.entries.get(key);
    if (known && known.revision >= revision) return;
    this.apply(key, value, revision);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    void this.run();
  }

  /** Loads the bucket again now; until the new load has caught up, the current copy stays. */
  reload(): void {
    this.reloadAsked = true;
    this.iterator?.stop();
  }

  stop(): void {
    this.stopped = true;
    this.iterator?.stop();
  }

  private apply(key: string, value: T | undefined, revision: number): void {
    if (value === undefined) this.entries.delete(key);
    else this.entries.set(key, { value, revision });
    this.options.onChange?.(key, value);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.watchOnce();
      } catch (error) {
        if (this.stopped) return;
        this.failures.failed(this.task, error);
      }
      const asked = this.reloadAsked;
      this.reloadAsked = false;
      if (!this.stopped && !asked) {
        await sleep(this.options.clock ?? systemClock, this.options.rewatchDelayMs ?? 500);
      }
    }
  }

  private async watchOnce(): Promise<void> {
    const seen = new Set<string>();
    this.seen = seen;
    const { values } = await this.kv.status();
    let initial = values > 0;
    const finishInitial = () => {
      initial = false;
      this.seen = undefined;
      for (const key of [...this.entries.keys()]) {
        if (!seen.has(key)) this.apply(key, undefined, 0);
      }
      if (!this.loaded) {
        this.loaded = true;
        this.markLoaded();
      }
    };
    const iterator = await this.kv.watch();
    this.failures.succeeded(this.task);
    this.iterator = iterator;
    if (this.stopped) iterator.stop();
    if (!initial) finishInitial();
    for await (const entry of iterator) {
      if (initial) seen.add(entry.key);
      const known = this.entries.get(entry.key);
      // Our own writes come back through the watch: already remembered, so not decoded again.
      if (!known || known.revision < entry.revision) {
        const value = entry.operation === 'PUT' ? this.decodeEntry(entry) : undefined;
        this.apply(entry.key, value, entry.revision);
      }
      if (initial && (entry.delta ?? 0) === 0) finishInitial();
    }
  }

  private decodeEntry(entry: KvWatchEntry): T | undefined {
    const raw = kvJson.decode<unknown>(entry);
    return raw === undefined ? undefined : this.options.decode(raw, entry);
  }
}
