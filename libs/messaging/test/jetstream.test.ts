import { DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { deadLetterSubject, HEADERS, STREAMS } from '@tillbus/contracts';
import { JsonLogger } from '@tillbus/observability';
import { startTestNatsServer, waitFor, type TestNatsServer } from '@tillbus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createIfAbsent,
  deadLetterStream,
  DurableConsumer,
  ensureKvBucket,
  ensureStream,
  PermanentError,
  publishEvent,
  streamDefaults,
  updateWithRevision,
  type NatsConnectionManager,
} from '../src';

let nats: TestNatsServer;
let nc: NatsConnection;
const logs: string[] = [];
const logger = new JsonLogger({ service: 'test', write: (l) => logs.push(l) });

beforeAll(async () => {
  nats = await startTestNatsServer();
  nc = await connect({ servers: nats.url });
  await ensureStream(await jetstreamManager(nc), deadLetterStream());
});
afterAll(async () => {
  await nc.close();
  await nats.dispose();
});

function manager(): NatsConnectionManager {
  const js = jetstream(nc);
  return {
    connect: async () => nc,
    jetstream: () => js,
    jetstreamManager: () => jetstreamManager(nc),
    provisioningMode: 'apply',
  } as unknown as NatsConnectionManager;
}

async function deadLetters(stream: string, consumer: string): Promise<JsMsg[]> {
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const name = `dlq-reader-${Math.random().toString(36).slice(2)}`;
  await jsm.consumers.add(STREAMS.deadLetters, {
    durable_name: name,
    filter_subject: deadLetterSubject(stream, consumer),
    deliver_policy: DeliverPolicy.All,
  });
  const c = await js.consumers.get(STREAMS.deadLetters, name);
  const out: JsMsg[] = [];
  const batch = await c.fetch({ max_messages: 10, expires: 1000 });
  for await (const m of batch) {
    out.push(m);
    m.ack();
  }
  return out;
}

describe('JetStream helpers', () => {
  it('declares streams idempotently, from any number of replicas at once', async () => {
    const jsm = await jetstreamManager(nc);
    const declaration = streamDefaults('TEST_IDEMPOTENT', ['tillbus.test.idem.>']);
    await Promise.all([
      ensureStream(jsm, declaration),
      ensureStream(jsm, declaration),
      ensureStream(jsm, declaration),
    ]);
    await ensureStream(jsm, { ...declaration, max_msgs: 1000 });
    expect((await jsm.streams.info('TEST_IDEMPOTENT')).config.max_msgs).toBe(1000);
  });

  it('redelivers a failed message with backoff, then dead-letters it after max-deliver', async () => {
    const jsm = await jetstreamManager(nc);
    await ensureStream(jsm, streamDefaults('TEST_RETRY', ['tillbus.test.retry.>']));
    const attempts: number[] = [];
    const consumer = new DurableConsumer(
      manager(),
      {
        stream: 'TEST_RETRY',
        durable: 'retry-worker',
        filterSubject: 'tillbus.test.retry.>',
        maxDeliver: 3,
        backoffMs: [50, 100],
        handle: async (_payload, msg) => {
          attempts.push(msg.info.deliveryCount);
          throw new Error('downstream is down');
        },
      },
      logger,
    );
    await consumer.start();
    await publishEvent(jetstream(nc), 'tillbus.test.retry.one', { n: 1 });
    await waitFor(() => attempts.length >= 3, { what: 'three deliveries' });
    await new Promise((r) => setTimeout(r, 300));
    expect(attempts).toEqual([1, 2, 3]);
    const dead = await deadLetters('TEST_RETRY', 'retry-worker');
    expect(dead).toHaveLength(1);
    expect(JSON.parse(Buffer.from(dead[0].data).toString())).toEqual({ n: 1 });
    expect(dead[0].headers?.get(HEADERS.deadLetterReason)).toBe('downstream is down');
    expect(dead[0].headers?.get(HEADERS.deadLetterSubject)).toBe('tillbus.test.retry.one');
    expect(dead[0].headers?.get(HEADERS.deadLetterDeliveries)).toBe('3');
    await consumer.stop(1000);
  });

  it('acks on success, and dead-letters a permanent failure or unparsable JSON at once', async () => {
    const jsm = await jetstreamManager(nc);
    await ensureStream(jsm, streamDefaults('TEST_PERM', ['tillbus.test.perm.>']));
    const seen: unknown[] = [];
    const consumer = new DurableConsumer<{ ok: boolean }>(
      manager(),
      {
        stream: 'TEST_PERM',
        durable: 'perm-worker',
        filterSubject: 'tillbus.test.perm.>',
        maxDeliver: 5,
        backoffMs: [50],
        concurrency: 1,
        parse: (body) => {
          if (typeof body !== 'object' || body === null || !('ok' in body))
            throw new PermanentError('no ok field');
          return body as { ok: boolean };
        },
        handle: async (payload) => {
          seen.push(payload);
        },
      },
      logger,
    );
    await consumer.start();
    const js = jetstream(nc);
    await publishEvent(js, 'tillbus.test.perm.a', { ok: true });
    await js.publish('tillbus.test.perm.b', 'not json');
    await publishEvent(js, 'tillbus.test.perm.c', { other: 1 });
    await waitFor(() => seen.length === 1);
    await new Promise((r) => setTimeout(r, 300));
    const dead = await deadLetters('TEST_PERM', 'perm-worker');
    expect(dead.map((d) => d.headers?.get(HEADERS.deadLetterReason)).sort()).toEqual([
      'no ok field',
      'the message is not valid JSON',
    ]);
    expect(dead.every((d) => d.headers?.get(HEADERS.deadLetterDeliveries) === '1')).toBe(true);
    expect((await jsm.consumers.info('TEST_PERM', 'perm-worker')).num_ack_pending).toBe(0);
    await consumer.stop(1000);
  });

  it('publishes with a message id so a retried publish is stored once', async () => {
    const jsm = await jetstreamManager(nc);
    await ensureStream(jsm, streamDefaults('TEST_DEDUP', ['tillbus.test.dedup.>']));
    const js = jetstream(nc);
    const first = await publishEvent(js, 'tillbus.test.dedup.x', { a: 1 }, { messageId: 'evt-1' });
    const again = await publishEvent(js, 'tillbus.test.dedup.x', { a: 1 }, { messageId: 'evt-1' });
    expect(again.duplicate).toBe(true);
    expect(again.seq).toBe(first.seq);
  });
});

describe('KV compare-and-set', () => {
  it('createIfAbsent: one winner among racing writers, the others see the winner', async () => {
    const kv = await ensureKvBucket(new Kvm(nc), { name: 'test_idem' });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => createIfAbsent(kv, 'req-1', { writer: i })),
    );
    const winners = results.filter((r) => r.created);
    expect(winners).toHaveLength(1);
    const losers = results.filter((r) => !r.created);
    const winnerValue = (await kv.get('req-1'))!.json<{ writer: number }>();
    expect(
      losers.every(
        (r) => !r.created && (r.existing as { writer: number }).writer === winnerValue.writer,
      ),
    ).toBe(true);
  });

  it('updateWithRevision: concurrent increments are never lost', async () => {
    const kv = await ensureKvBucket(new Kvm(nc), { name: 'test_counter' });
    await Promise.all(
      Array.from({ length: 20 }, () =>
        updateWithRevision<{ n: number }>(kv, 'count', (c) => ({ n: (c?.n ?? 0) + 1 }), 50),
      ),
    );
    expect((await kv.get('count'))!.json<{ n: number }>().n).toBe(20);
  });

  it('updateWithRevision: returning undefined writes nothing', async () => {
    const kv = await ensureKvBucket(new Kvm(nc), { name: 'test_nochange' });
    await kv.put('k', JSON.stringify({ v: 1 }));
    const result = await updateWithRevision<{ v: number }>(kv, 'k', () => undefined);
    expect(result).toMatchObject({ changed: false, value: { v: 1 } });
    expect((await kv.get('k'))!.revision).toBe(result.revision);
  });

  it('updateWithRevision: a deleted key reads as absent and can be written again', async () => {
    const kv = await ensureKvBucket(new Kvm(nc), { name: 'test_deleted' });
    await kv.put('k', JSON.stringify({ v: 1 }));
    await kv.delete('k');
    const seen: Array<{ v: number } | undefined> = [];
    const result = await updateWithRevision<{ v: number }>(kv, 'k', (current) => {
      seen.push(current);
      return { v: 2 };
    });
    expect(seen).toEqual([undefined]);
    expect(result).toMatchObject({ changed: true, value: { v: 2 } });
    expect((await kv.get('k'))!.json<{ v: number }>()).toEqual({ v: 2 });
  });
});
