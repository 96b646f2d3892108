import { describe, expect, it } from 'vitest';
import { FakeKv } from '../../test/fake-kv';
import { scanLatest } from './kv-scan';

describe('scanLatest', () => {
  it('visits the latest value of every key once, skipping what does not decode', async () => {
    const kv = new FakeKv();
    kv.put('a', { v: 1 });
    kv.put('b', { v: 2 });
    kv.put('a', { v: 3 });
    kv.put('junk', 'text');
    const seen: [string, number][] = [];
    const count = await scanLatest(
      kv.asKv(),
      (value) => (typeof value === 'object' ? (value as { v: number }) : undefined),
      (value, key) => void seen.push([key, value.v]),
    );
    expect(count).toBe(2);
    expect(seen.sort()).toEqual([
      ['a', 3],
      ['b', 2],
    ]);
    expect(kv.watching).toBe(0);
  });

  it('stops early when visit says so, and returns 0 for an empty bucket', async () => {
    const kv = new FakeKv();
    expect(
      await scanLatest(
        kv.asKv(),
        (v) => v,
        () => undefined,
      ),
    ).toBe(0);
    kv.put('a', 1);
    kv.put('b', 2);
    expect(
      await scanLatest(
        kv.asKv(),
        (v) => v,
        () => false,
      ),
    ).toBe(1);
  });
});
