import type { KV } from '@nats-io/kv';
import { kvJson } from './compare-and-set';

/**
 * Visits the current value of every key once: a single pass over the bucket's stream, not a get per key. Ends when
 * the watcher has caught up, or after `idleMs` without an entry, or when `visit` returns false. Returns how many
 * values were visited.
 */
export async function scanLatest<T>(
  kv: KV,
  decode: (value: unknown) => T | undefined,
  visit: (value: T, key: string) => boolean | void,
  idleMs = 2000,
): Promise<number> {
  const status = await kv.status();
  if (status.values === 0) return 0;
  const watcher = await kv.watch();
  let idle: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(idle);
    idle = setTimeout(() => watcher.stop(), idleMs);
  };
  let visited = 0;
  arm();
  try {
    for await (const entry of watcher) {
      arm();
      const raw = kvJson.decode<unknown>(entry);
      const value = raw === undefined ? undefined : decode(raw);
      if (value !== undefined) {
        visited++;
        if (visit(value, entry.key) === false) break;
      }
      if (entry.delta === 0) break;
    }
  } finally {
    clearTimeout(idle);
    watcher.stop();
  }
  return visited;
}
