import type { KV, KvWatchEntry } from '@nats-io/kv';
import type { QueuedIterator } from '@nats-io/transport-node';
import { kvJson } from '@tillbus/messaging';
import type { JsonLogger } from '@tillbus/observability';
import { sleep, type Clock } from './clock';

export interface MirrorEntry<T> {
  value: T;
  revision: number;
}

/**
 * An in-memory copy of a KV bucket, kept current by a watch: every replica reads the fleet from memory and
 * writes through KV. After a lost watch it loads the bucket again and forgets keys that vanished meanwhile.
 */
export class KvMirror<T> {
  private readonly entries = new Map<string, MirrorEntry<T>>();
  private iterator?: QueuedIterator<KvWatchEntry>;
  private stopped = false;
  private loaded = false;
  /** Keys known to exist during a (re)load: what the load did not see and nobody wrote meanwhile is forgotten. */
  private seen?: Set<string>;
  private markLoaded!: () => void;
  /** Resolves once the first full load is in memory. */
  readonly ready = new Promise<void>((resolve) => (this.markLoaded = resolve));

  constructor(
    private readonly kv: KV,
    private readonly decode: (value: unknown) => T | undefined,
    private readonly clock: Clock,
    private readonly logger: JsonLogger,
    private readonly name: string,
    private readonly onChange?: (key: string, value: T | undefined) => void,
  ) {}

  get isLoaded(): boolean {
    return this.loaded;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): MirrorEntry<T> | undefined {
    return this.entries.get(key);
  }

  values(): IterableIterator<MirrorEntry<T>> {
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
    void this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.iterator?.stop();
  }

  private apply(key: string, value: T | undefined, revision: number): void {
    if (value === undefined) this.entries.delete(key);
    else this.entries.set(key, { value, revision });
    this.onChange?.(key, value);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.watchOnce();
      } catch (error) {
        if (this.stopped) return;
        this.logger.event('warn', `${this.name} watch failed; watching again`, {
          error: (error as Error).message,
        });
      }
      if (!this.stopped) await sleep(this.clock, 500);
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
    this.iterator = iterator;
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
    return raw === undefined ? undefined : this.decode(raw);
  }
}
