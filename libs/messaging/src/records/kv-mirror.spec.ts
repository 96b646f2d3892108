import { describe, expect, it } from 'vitest';
import { FakeKv } from '../../test/fake-kv';
import { KvMirror } from './kv-mirror';
import { ManualClock } from './manual-clock';

type Doc = { v: number };
const logger = {
  warnings: [] as string[],
  event: (_l: 'warn', message: string) => void logger.warnings.push(message),
};
const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

function mirrorOf(kv: FakeKv, clock = new ManualClock(0)) {
  const changes: [string, Doc | undefined][] = [];
  const mirror = new KvMirror<Doc>(kv.asKv(), {
    name: 'docs',
    decode: (value) => (typeof (value as Doc).v === 'number' ? (value as Doc) : undefined),
    logger,
    clock,
    onChange: (key, value) => changes.push([key, value]),
  });
  return { mirror, changes, clock };
}

describe('KvMirror', () => {
  it('loads the bucket, is ready once loaded, then follows puts and deletes', async () => {
    const kv = new FakeKv();
    kv.put('a', { v: 1 });
    kv.put('b', { v: 2 });
    kv.put('junk', { other: true });
    const { mirror, changes } = mirrorOf(kv);
    expect(mirror.isLoaded).toBe(false);
    mirror.start();
    await mirror.ready;
    expect(mirror.isLoaded).toBe(true);
    expect(mirror.size).toBe(2);
    kv.put('a', { v: 3 });
    await kv.delete('b');
    await tick();
    expect(mirror.get('a')?.value).toEqual({ v: 3 });
    expect(mirror.get('b')).toBeUndefined();
    expect(changes.at(-1)).toEqual(['b', undefined]);
    mirror.stop();
  });

  it('hands decode the entry, so a mirror can keep what KV knows about it', async () => {
    const kv = new FakeKv();
    kv.put('a', { v: 1 });
    const mirror = new KvMirror<{ v: number; revision: number }>(kv.asKv(), {
      name: 'with revisions',
      decode: (value, entry) => ({ ...(value as Doc), revision: entry.revision }),
      logger,
    });
    mirror.start();
    await mirror.ready;
    expect(mirror.get('a')?.value).toEqual({ v: 1, revision: 1 });
    mirror.stop();
  });

  it('is ready at once on an empty bucket', async () => {
    const { mirror } = mirrorOf(new FakeKv());
    mirror.start();
    await mirror.ready;
    expect([...mirror.values()]).toEqual([]);
    mirror.stop();
  });

  it('remembers our own write before the watch brings it, and does not go back to an older one', async () => {
    const kv = new FakeKv();
    const { mirror } = mirrorOf(kv);
    mirror.start();
    await mirror.ready;
    mirror.remember('a', { v: 9 }, 100);
    expect(mirror.get('a')).toEqual({ value: { v: 9 }, revision: 100 });
    mirror.remember('a', { v: 8 }, 99);
    expect(mirror.get('a')?.value).toEqual({ v: 9 });
    mirror.stop();
  });

  it('watches again after a lost watch, and forgets keys that vanished meanwhile', async () => {
    const kv = new FakeKv();
    kv.put('a', { v: 1 });
    kv.put('b', { v: 2 });
    const { mirror, clock } = mirrorOf(kv);
    mirror.start();
    await mirror.ready;
    kv.breakWatches();
    kv.expire('b');
    kv.put('c', { v: 3 });
    await tick();
    expect(kv.watching).toBe(0);
    clock.advance(500);
    await tick();
    expect(kv.watching).toBe(1);
    expect([...mirror.values()].map((entry) => entry.value)).toEqual([{ v: 1 }, { v: 3 }]);
    mirror.stop();
  });

  it('reload() loads again at once, dropping what expired without a delete', async () => {
    const kv = new FakeKv();
    kv.put('a', { v: 1 });
    kv.put('b', { v: 2 });
    const { mirror, changes } = mirrorOf(kv);
    mirror.start();
    await mirror.ready;
    kv.expire('a');
    mirror.reload();
    await tick();
    expect(mirror.get('a')).toBeUndefined();
    expect(mirror.get('b')?.value).toEqual({ v: 2 });
    expect(changes.filter(([key]) => key === 'b')).toHaveLength(1);
    mirror.stop();
    expect(kv.watching).toBe(0);
  });
});
