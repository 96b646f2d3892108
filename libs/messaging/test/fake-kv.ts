import type { KV, KvEntry } from '@nats-io/kv';

/** Test double: an in-memory bucket with revisions, CAS errors and watches, enough for the toolkit's specs. */
export class FakeKv {
  private revision = 0;
  private readonly latest = new Map<string, FakeEntry>();
  private readonly watchers = new Set<FakeWatch>();
  /** Calls to get, to count round trips. */
  gets = 0;
  /** Runs before every write; a test uses it to slip in a competing writer. */
  beforeWrite?: (key: string) => void;

  asKv(): KV {
    return this as unknown as KV;
  }

  async get(key: string): Promise<KvEntry | null> {
    this.gets++;
    return (this.latest.get(key) as unknown as KvEntry) ?? null;
  }

  async create(key: string, data: string): Promise<number> {
    this.beforeWrite?.(key);
    const current = this.latest.get(key);
    if (current && current.operation === 'PUT') throw new Error('wrong last sequence: key exists');
    return this.write(key, data, 'PUT');
  }

  async update(key: string, data: string, revision: number): Promise<number> {
    this.beforeWrite?.(key);
    if ((this.latest.get(key)?.revision ?? 0) !== revision)
      throw new Error('wrong last sequence: 0');
    return this.write(key, data, 'PUT');
  }

  async delete(key: string, options?: { previousSeq?: number }): Promise<void> {
    if (
      options?.previousSeq !== undefined &&
      this.latest.get(key)?.revision !== options.previousSeq
    )
      throw new Error('wrong last sequence');
    this.write(key, '', 'DEL');
  }

  /** A write from someone else, without CAS. */
  put(key: string, value: unknown): number {
    return this.write(key, JSON.stringify(value), 'PUT');
  }

  /** Forgets a key without a delete marker, as KV expiry does. */
  expire(key: string): void {
    this.latest.delete(key);
  }

  async status(): Promise<{ values: number }> {
    return { values: this.latest.size };
  }

  async watch(): Promise<FakeWatch> {
    const watch = new FakeWatch(() => this.watchers.delete(watch));
    const current = [...this.latest.values()].sort((a, b) => a.revision - b.revision);
    current.forEach((entry, index) => watch.push(entry.withDelta(current.length - 1 - index)));
    this.watchers.add(watch);
    return watch;
  }

  /** Ends every watch as a lost connection would. */
  breakWatches(): void {
    for (const watch of [...this.watchers]) watch.stop();
  }

  get watching(): number {
    return this.watchers.size;
  }

  private write(key: string, data: string, operation: 'PUT' | 'DEL'): number {
    const entry = new FakeEntry(key, ++this.revision, operation, data);
    this.latest.set(key, entry);
    for (const watch of this.watchers) watch.push(entry.withDelta(0));
    return entry.revision;
  }
}

class FakeEntry {
  delta = 0;
  readonly created = new Date();
  constructor(
    readonly key: string,
    readonly revision: number,
    readonly operation: 'PUT' | 'DEL',
    readonly data: string,
  ) {}

  withDelta(delta: number): FakeEntry {
    const copy = new FakeEntry(this.key, this.revision, this.operation, this.data);
    copy.delta = delta;
    return copy;
  }

  get length(): number {
    return this.data.length;
  }

  json<T>(): T {
    return JSON.parse(this.data) as T;
  }
}

class FakeWatch implements AsyncIterable<FakeEntry> {
  private readonly queue: FakeEntry[] = [];
  private wake?: () => void;
  private done = false;

  constructor(private readonly onStop: () => void) {}

  push(entry: FakeEntry): void {
    this.queue.push(entry);
    this.wake?.();
  }

  stop(): void {
    this.done = true;
    this.onStop();
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<FakeEntry> {
    for (;;) {
      const next = this.queue.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.done) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}
