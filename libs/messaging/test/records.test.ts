import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startTestNatsServer, waitFor, type TestNatsServer } from '@tillbus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compareAndSet,
  ensureKvBucket,
  ensureStream,
  immediateRetries,
  JetStreamOutbox,
  KvMirror,
  streamDefaults,
  untilSuccess,
} from '../src';

let nats: TestNatsServer;
let nc: NatsConnection;
let other: NatsConnection;

beforeAll(async () => {
  nats = await startTestNatsServer();
  const options = { servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 };
  nc = await connect(options);
  other = await connect(options);
});
afterAll(async () => {
  await nc.close();
  await other.close();
  await nats.dispose();
});

type Count = { n: number };

describe('compare-and-set under contention', () => {
  it('writers on two connections never lose an increment', async () => {
    const kvs = [
      await ensureKvBucket(new Kvm(nc), { name: 'records_cas' }),
      await ensureKvBucket(new Kvm(other), { name: 'records_cas' }),
    ];
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        compareAndSet<Count>(kvs[i % 2], 'count', (c) => ({ n: (c?.n ?? 0) + 1 }), {
          retry: immediateRetries(100),
        }),
      ),
    );
    expect(results.every((result) => result.ok && result.changed)).toBe(true);
    expect((await kvs[0].get('count'))!.json<Count>().n).toBe(30);
  });

  it('single attempts report typed conflicts, and exactly the winners were counted', async () => {
    const kv = await ensureKvBucket(new Kvm(nc), { name: 'records_cas_once' });
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        compareAndSet<Count>(kv, 'count', (c) => ({ n: (c?.n ?? 0) + 1 }), {
          retry: immediateRetries(1),
        }),
      ),
    );
    const won = results.filter((result) => result.ok).length;
    const lost = results.filter((result) => !result.ok);
    expect(won).toBeGreaterThan(0);
    expect(lost.every((result) => !result.ok && result.conflict && result.attempts === 1)).toBe(
      true,
    );
    expect((await kv.get('count'))!.json<Count>().n).toBe(won);
  });
});

describe('KvMirror against a server that goes away', () => {
  it('loads, follows, and after the server restarts watches again and catches up', async () => {
    const kv = await ensureKvBucket(new Kvm(nc), { name: 'records_mirror' });
    await kv.put('a', JSON.stringify({ v: 1 }));
    await kv.put('b', JSON.stringify({ v: 2 }));
    const warnings: string[] = [];
    const mirror = new KvMirror<{ v: number }>(kv, {
      name: 'test mirror',
      decode: (value) => value as { v: number },
      logger: { event: (_level, message) => void warnings.push(message) },
      rewatchDelayMs: 100,
    });
    mirror.start();
    await mirror.ready;
    expect(mirror.size).toBe(2);

    await kv.put('a', JSON.stringify({ v: 10 }));
    await waitFor(() => mirror.get('a')?.value.v === 10, { timeoutMs: 5_000 });

    await nats.stop();
    await nats.restart();
    await waitFor(
      async () => {
        try {
          // JetStream answers a moment after the server accepts connections again.
          const writer = await ensureKvBucket(new Kvm(other), { name: 'records_mirror' });
          await writer.put('c', JSON.stringify({ v: 3 }));
          await writer.delete('b');
          return true;
        } catch {
          return false;
        }
      },
      { timeoutMs: 15_000 },
    );
    await waitFor(() => mirror.get('c')?.value.v === 3 && mirror.get('b') === undefined, {
      timeoutMs: 15_000,
    });
    expect(mirror.get('a')?.value.v).toBe(10);

    mirror.reload();
    await kv.put('d', JSON.stringify({ v: 4 }));
    await waitFor(() => mirror.get('d') !== undefined, { timeoutMs: 5_000 });
    expect([...mirror.values()].map((entry) => entry.value.v).sort((x, y) => x - y)).toEqual([
      3, 4, 10,
    ]);
    mirror.stop();
  });

  it('reload() watches again and forgets what KV expired without telling the watch', async () => {
    const kv = await ensureKvBucket(new Kvm(nc), { name: 'records_expiring', ttlMs: 1_000 });
    await kv.put('short', JSON.stringify({ v: 1 }));
    const mirror = new KvMirror<{ v: number }>(kv, {
      name: 'expiring mirror',
      decode: (value) => value as { v: number },
      logger: { event: () => undefined },
    });
    mirror.start();
    await mirror.ready;
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    expect(mirror.get('short')).toBeDefined();
    mirror.reload();
    await waitFor(() => mirror.get('short') === undefined, { timeoutMs: 5_000 });
    await kv.put('later', JSON.stringify({ v: 2 }));
    await waitFor(() => mirror.get('later') !== undefined, { timeoutMs: 5_000 });
    mirror.stop();
  });
});

describe('JetStreamOutbox', () => {
  it('retries until the stream acks, stores a re-publish once, and keeps the order of a key', async () => {
    const js = jetstream(nc);
    const outbox = new JetStreamOutbox(() => js, {
      retry: untilSuccess(50, 200),
      publishTimeoutMs: 1_000,
    });
    // No stream yet: every publish fails until it exists.
    const sending = outbox.send('order-1', [
      { subject: 'records.out.1', payload: { n: 1 }, messageId: 'order-1:1' },
      { subject: 'records.out.1', payload: { n: 2 }, messageId: 'order-1:2' },
    ]);
    const more = outbox.send('order-1', [
      { subject: 'records.out.1', payload: { n: 3 }, messageId: 'order-1:3' },
    ]);
    await new Promise((resolve) => setTimeout(resolve, 400));
    const jsm = await jetstreamManager(nc);
    await ensureStream(jsm, streamDefaults('RECORDS_OUT', ['records.out.>']));
    const [first, second] = await Promise.all([sending, more]);
    expect(first.failed).toBeUndefined();
    expect(second.failed).toBeUndefined();

    const again = await outbox.send('order-1', [
      { subject: 'records.out.1', payload: { n: 1 }, messageId: 'order-1:1' },
    ]);
    expect(again.published).toHaveLength(1);
    const info = await jsm.streams.info('RECORDS_OUT');
    expect(info.state.messages).toBe(3);
    const stored = await Promise.all(
      [1, 2, 3].map(async (seq) => (await jsm.streams.getMessage('RECORDS_OUT', { seq }))!.json()),
    );
    expect(stored).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });
});

describe('JetStreamOutbox across a broker restart (issue 17)', () => {
  // The old default gave up after 5 attempts, ~9 s with these 500 ms publish timeouts; the broker is away 16 s.
  const AWAY_MS = 16_000;

  it('every message of a key reaches the stream once and in order, however long the broker is away', async () => {
    const own = await startTestNatsServer();
    if (own.source !== 'binary') return own.dispose();
    const conn = await connect({
      servers: own.url,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
    });
    try {
      const jsm = await jetstreamManager(conn);
      await ensureStream(jsm, streamDefaults('RECORDS_RESTART', ['records.restart.>']));
      const js = jetstream(conn);
      const outbox = new JetStreamOutbox(() => js, { publishTimeoutMs: 500 });
      const message = (n: number) => ({
        subject: 'records.restart.cmd',
        payload: { n },
        messageId: `cmd:${n}`,
      });
      expect((await outbox.send('cmd', [message(1), message(2)])).failed).toBeUndefined();
      await own.stop();
      // sent while the broker is away: one batch, then one more behind it
      const during = outbox.send('cmd', [message(3), message(4)]);
      const after = outbox.send('cmd', [message(5)]);
      await new Promise((resolve) => setTimeout(resolve, AWAY_MS));
      await own.restart();
      const [first, second] = await Promise.all([during, after]);
      expect(first.failed).toBeUndefined();
      expect(second.failed).toBeUndefined();
      const info = await jsm.streams.info('RECORDS_RESTART');
      const stored = await Promise.all(
        Array.from(
          { length: info.state.messages },
          async (_, i) =>
            (await jsm.streams.getMessage('RECORDS_RESTART', { seq: i + 1 }))!.json<{ n: number }>()
              .n,
        ),
      );
      expect(stored).toEqual([1, 2, 3, 4, 5]);
      outbox.close();
    } finally {
      await conn.close();
      await own.dispose();
    }
  }, 60_000);
});
