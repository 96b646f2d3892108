import type { KvEntry } from '@nats-io/kv';
import type { Bucket } from './stores';

/**
 * The keys of a small bucket, kept current through a KV watch: live owners (their lease keys), commands in doubt.
 * `seenAt` is when this replica last saw the key written.
 */
export class WatchedKeys {
  readonly seenAt = new Map<string, number>();
  /** When the server stored each key's value (KV max age removes entries without telling a watch). */
  readonly createdAt = new Map<string, number>();
  private stopped = false;
  private iterator?: { stop(): void };

  constructor(
    private readonly bucket: Bucket,
    private readonly onChange: () => void = () => undefined,
    /** Keep a deleted key, seen at 0 (a lease given up is a lease lapsed), instead of forgetting it. */
    private readonly keepDeleted = false,
  ) {}

  async start(): Promise<void> {
    const watch = await this.bucket().watch();
    this.iterator = watch;
    void (async () => {
      for await (const entry of watch as AsyncIterable<KvEntry>) {
        if (this.stopped) break;
        if (entry.operation === 'PUT') {
          this.seenAt.set(entry.key, Date.now());
          this.createdAt.set(entry.key, entry.created.getTime());
        } else if (this.keepDeleted) {
          this.seenAt.set(entry.key, 0);
        } else {
          this.seenAt.delete(entry.key);
          this.createdAt.delete(entry.key);
        }
        this.onChange();
      }
    })().catch(() => undefined);
  }

  /** Keys written less than `maxAgeMs` ago, by the server's clock. */
  countYoungerThan(maxAgeMs: number, now = Date.now()): number {
    let count = 0;
    for (const created of this.createdAt.values()) if (now - created < maxAgeMs) count++;
    return count;
  }

  stop(): void {
    this.stopped = true;
    this.iterator?.stop();
  }
}
