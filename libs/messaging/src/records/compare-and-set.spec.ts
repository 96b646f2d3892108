import { describe, expect, it } from 'vitest';
import {
  CasConflictError,
  compareAndSet,
  createIfAbsent,
  deleteIfRevision,
  readRevisioned,
  updateWithRevision,
  writeIfRevision,
} from './compare-and-set';
import { FakeKv } from '../../test/fake-kv';
import { immediateRetries } from './retry';

type Count = { n: number };
const increment = (current: Count | undefined): Count => ({ n: (current?.n ?? 0) + 1 });

describe('compareAndSet', () => {
  it('creates an absent key and updates a present one', async () => {
    const kv = new FakeKv();
    const first = await compareAndSet<Count>(kv.asKv(), 'k', increment);
    const second = await compareAndSet<Count>(kv.asKv(), 'k', increment);
    expect(first).toMatchObject({ ok: true, value: { n: 1 }, changed: true });
    expect(second).toMatchObject({ ok: true, value: { n: 2 }, changed: true });
    expect(second.ok && second.revision).toBeGreaterThan(first.ok ? first.revision : 0);
  });

  it('re-reads and retries when someone wrote in between, never losing their write', async () => {
    const kv = new FakeKv();
    kv.put('k', { n: 10 });
    let interfere = 2;
    kv.beforeWrite = (key) => {
      if (interfere-- > 0) kv.put(key, { n: 100 });
    };
    const result = await compareAndSet<Count>(kv.asKv(), 'k', increment);
    expect(result).toMatchObject({ ok: true, value: { n: 101 } });
  });

  it('returns a typed conflict once the attempts are used up, having paused between them', async () => {
    const kv = new FakeKv();
    kv.beforeWrite = (key) => kv.put(key, { n: 0 });
    const pauses: number[] = [];
    const result = await compareAndSet<Count>(kv.asKv(), 'k', increment, {
      retry: { maxAttempts: 3, delayMs: (attempt) => (pauses.push(attempt), 1) },
    });
    expect(result).toEqual({ ok: false, conflict: true, key: 'k', attempts: 3 });
    expect(pauses).toEqual([1, 2]);
  });

  it('starts from a known value without reading; a stale one costs a conflict and a fresh read', async () => {
    const kv = new FakeKv();
    const revision = kv.put('k', { n: 1 });
    const fresh = await compareAndSet<Count>(kv.asKv(), 'k', increment, {
      known: { value: { n: 1 }, revision },
    });
    expect(kv.gets).toBe(0);
    expect(fresh).toMatchObject({ ok: true, value: { n: 2 } });
    const stale = await compareAndSet<Count>(kv.asKv(), 'k', increment, {
      known: { value: { n: 1 }, revision },
    });
    expect(kv.gets).toBe(1);
    expect(stale).toMatchObject({ ok: true, value: { n: 3 } });
  });

  // Found by edc-command's replicas test: a replica's cached record, older than the take-over, judged a recovery
  // answer stale and dropped it, because "no change" on a guess writes nothing and so never conflicts.
  it('with confirmUnchanged, decides "no change" again on a fresh read when it was decided on a guess', async () => {
    const kv = new FakeKv();
    const old = kv.put('k', { n: 1 });
    kv.put('k', { n: 2 });
    const onlyFromTwo = (current: Count | undefined) => (current?.n === 2 ? { n: 3 } : undefined);
    const trusting = await compareAndSet<Count>(kv.asKv(), 'k', onlyFromTwo, {
      known: { value: { n: 1 }, revision: old },
    });
    expect(trusting).toMatchObject({ ok: true, changed: false, value: { n: 1 } });
    const confirming = await compareAndSet<Count>(kv.asKv(), 'k', onlyFromTwo, {
      known: { value: { n: 1 }, revision: old },
      confirmUnchanged: true,
    });
    expect(confirming).toMatchObject({ ok: true, changed: true, value: { n: 3 } });
    const gets = kv.gets;
    const unchanged = await compareAndSet<Count>(kv.asKv(), 'k', () => undefined, {
      known: { value: { n: 3 }, revision: 99 },
      confirmUnchanged: true,
    });
    expect(unchanged).toMatchObject({ ok: true, changed: false, value: { n: 3 } });
    expect(kv.gets).toBe(gets + 1);
  });

  it('writes nothing when mutate returns undefined, and wraps each KV call', async () => {
    const kv = new FakeKv();
    kv.put('k', { n: 5 });
    let calls = 0;
    const result = await compareAndSet<Count>(kv.asKv(), 'k', () => undefined, {
      kvCall: (call) => (calls++, call()),
    });
    expect(result).toMatchObject({ ok: true, value: { n: 5 }, changed: false });
    expect(calls).toBe(1);
  });

  it('treats a deleted key as absent and writes over its delete marker', async () => {
    const kv = new FakeKv();
    kv.put('k', { n: 5 });
    await kv.delete('k');
    const seen: (Count | undefined)[] = [];
    const result = await compareAndSet<Count>(kv.asKv(), 'k', (current, revision) => {
      seen.push(current);
      expect(revision).toBe(0);
      return { n: 1 };
    });
    expect(seen).toEqual([undefined]);
    expect(result).toMatchObject({ ok: true, value: { n: 1 }, changed: true });
  });
});

describe('updateWithRevision', () => {
  it('throws CasConflictError when it cannot win', async () => {
    const kv = new FakeKv();
    kv.beforeWrite = (key) => kv.put(key, { n: 0 });
    await expect(updateWithRevision<Count>(kv.asKv(), 'k', increment, 2)).rejects.toBeInstanceOf(
      CasConflictError,
    );
  });
});

describe('single compare-and-set steps', () => {
  it('writeIfRevision: creates at 0, updates at the current revision, refuses a stale one', async () => {
    const kv = new FakeKv();
    const created = await writeIfRevision(kv.asKv(), 'k', { n: 1 }, 0);
    expect(created).toBeGreaterThan(0);
    expect(await writeIfRevision(kv.asKv(), 'k', { n: 2 }, 0)).toBeUndefined();
    const updated = await writeIfRevision(kv.asKv(), 'k', { n: 2 }, created!);
    expect(await writeIfRevision(kv.asKv(), 'k', { n: 3 }, created!)).toBeUndefined();
    expect(await readRevisioned<Count>(kv.asKv(), 'k')).toEqual({
      value: { n: 2 },
      revision: updated,
    });
  });

  it('deleteIfRevision: only our own revision is deleted', async () => {
    const kv = new FakeKv();
    const revision = kv.put('k', { n: 1 });
    kv.put('k', { n: 2 });
    expect(await deleteIfRevision(kv.asKv(), 'k', revision)).toBe(false);
    expect(await deleteIfRevision(kv.asKv(), 'k', revision + 1)).toBe(true);
    expect(await readRevisioned(kv.asKv(), 'k')).toBeUndefined();
  });

  it('createIfAbsent: reports what is there when the key exists', async () => {
    const kv = new FakeKv();
    expect(await createIfAbsent(kv.asKv(), 'k', { n: 1 })).toMatchObject({ created: true });
    expect(await createIfAbsent(kv.asKv(), 'k', { n: 2 })).toMatchObject({
      created: false,
      existing: { n: 1 },
    });
  });

  it('immediateRetries never pauses', () => {
    expect(immediateRetries(3).delayMs(1)).toBe(0);
  });
});
