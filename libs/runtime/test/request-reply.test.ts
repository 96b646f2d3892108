import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { OpsServer } from '@tillbus/observability';
import {
  findPromtool,
  promtoolCheckMetrics,
  PROMTOOL_HINT,
  startTestNatsServer,
  waitFor,
  type TestNatsServer,
} from '@tillbus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusRequestError, HEADERS } from '@tillbus/contracts';
import { decodeReply, requestJson } from '@tillbus/messaging';
import { isJetStreamDelivery } from '../src';
import { ECHO_SUBJECTS, startEchoReplica } from './fixtures/echo-app';

let nats: TestNatsServer;
let client: NatsConnection;
const replicas: Awaited<ReturnType<typeof startEchoReplica>>[] = [];
const logs: string[] = [];

beforeAll(async () => {
  nats = await startTestNatsServer();
  const env = { NATS_URL: nats.url, BUS_REQUEST_TIMEOUT_MS: '2000' };
  replicas.push(await startEchoReplica(env, 'a', (l) => logs.push(l)));
  replicas.push(await startEchoReplica(env, 'b', (l) => logs.push(l)));
  client = await connect({ servers: nats.url });
});

afterAll(async () => {
  await client?.close();
  for (const r of replicas) await r.close();
  await nats?.dispose();
});

const connection = { connect: async () => client };
const request = <T>(subject: string, payload: unknown, timeoutMs = 2000) =>
  requestJson<T>(connection, subject, payload, { timeoutMs });

async function rejection(promise: Promise<unknown>): Promise<BusRequestError> {
  try {
    await promise;
  } catch (error) {
    return error as BusRequestError;
  }
  throw new Error('expected the request to fail');
}

describe('request/reply through the messaging lib', () => {
  it('answers a request sent the moment a service has started (its subscriptions are flushed first)', async () => {
    const own = await startTestNatsServer();
    const observer = await connect({ servers: own.url });
    try {
      for (let round = 0; round < 5; round++) {
        const replica = await startEchoReplica({ NATS_URL: own.url }, `fresh-${round}`, () => {});
        try {
          const reply = await requestJson<{ id: string }>(
            { connect: async () => observer },
            ECHO_SUBJECTS.echo,
            { id: `first-${round}` },
            { timeoutMs: 2000 },
          );
          expect(reply).toMatchObject({ id: `first-${round}` });
        } finally {
          await replica.close();
        }
      }
    } finally {
      await observer.close();
      await own.dispose();
    }
  });

  it('two replicas share 1,000 requests, each handled exactly once', async () => {
    for (const r of replicas) r.replica.handled.length = 0;
    const ids = Array.from({ length: 1000 }, (_, i) => `req-${i}`);
    for (let i = 0; i < ids.length; i += 100) {
      await Promise.all(ids.slice(i, i + 100).map((id) => request(ECHO_SUBJECTS.echo, { id })));
    }
    const handled = replicas.flatMap((r) => r.replica.handled);
    expect(handled).toHaveLength(1000);
    expect(new Set(handled).size).toBe(1000);
    expect(replicas[0].replica.handled.length).toBeGreaterThan(0);
    expect(replicas[1].replica.handled.length).toBeGreaterThan(0);
  });

  it('fails fast with NO_RESPONDERS when nobody listens', async () => {
    const started = Date.now();
    const error = await rejection(request('tillbus.test.nobody', {}, 5000));
    expect(error).toBeInstanceOf(BusRequestError);
    expect(error.code).toBe('NO_RESPONDERS');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('gives a typed TIMEOUT when the handler is slower than the caller allows', async () => {
    const error = await rejection(
      request(ECHO_SUBJECTS.slow, { id: 'slow-1', delayMs: 1500 }, 300),
    );
    expect(error.code).toBe('TIMEOUT');
    expect(error.message).toContain('300 ms');
  });

  it('answers malformed JSON and unknown fields with PARAM_ILLEGAL, then keeps serving', async () => {
    const raw = await client.request(ECHO_SUBJECTS.echo, '{"id": "x",', { timeout: 2000 });
    expect(raw.headers?.get(HEADERS.error)).toBe('PARAM_ILLEGAL');
    expect(() => decodeReply(ECHO_SUBJECTS.echo, raw.data, raw.headers)).toThrow(/not valid JSON/);

    const extra = await rejection(request(ECHO_SUBJECTS.echo, { id: 'x', admin: true }));
    expect(extra.code).toBe('PARAM_ILLEGAL');
    expect(extra.message).toBe('invalid payload: payload.admin: property admin should not exist');
    expect(extra.details).toEqual({
      violations: [{ field: 'payload.admin', problems: ['property admin should not exist'] }],
    });

    const wrongType = await rejection(request(ECHO_SUBJECTS.echo, { id: 42 }));
    expect(wrongType.code).toBe('PARAM_ILLEGAL');
    expect(wrongType.message).toContain('payload.id: id must be a string');

    const notObject = await rejection(request(ECHO_SUBJECTS.echo, [1, 2]));
    expect(notObject.code).toBe('PARAM_ILLEGAL');

    await expect(request(ECHO_SUBJECTS.echo, { id: 'after' })).resolves.toMatchObject({
      id: 'after',
    });
  });

  it('maps a named domain error to its code and details', async () => {
    const error = await rejection(request(ECHO_SUBJECTS.busy, { id: 'dev-7' }));
    expect(error.code).toBe('DEVICE_BUSY');
    expect(error.message).toBe('device dev-7 is busy');
    expect(error.details).toEqual({ deviceId: 'dev-7' });
  });

  it('never shows a caller an untyped error: a crash is INTERNAL_ERROR with a correlation id, details logged only', async () => {
    const h = headers();
    h.set(HEADERS.correlationId, 'corr-crash-1');
    const raw = await client.request(ECHO_SUBJECTS.crash, '{}', { timeout: 2000, headers: h });
    const body = JSON.parse(Buffer.from(raw.data).toString());
    expect(body).toEqual({
      code: 'INTERNAL_ERROR',
      message: 'internal error (correlation id corr-crash-1)',
    });
    expect(raw.headers?.get(HEADERS.correlationId)).toBe('corr-crash-1');
    const logged = logs.map((l) => JSON.parse(l)).find((l) => l.correlationId === 'corr-crash-1');
    expect(logged).toMatchObject({ level: 'error', msg: 'handler failed' });
  });

  it('logs the crash once with its cause chain, and answers with the reply the service declared', async () => {
    const own = await startTestNatsServer();
    const ownLogs: string[] = [];
    const replica = await startEchoReplica(
      { NATS_URL: own.url },
      'declared',
      (l) => ownLogs.push(l),
      {
        unknownErrorReply: { code: 'UNAVAILABLE', message: 'retry later' },
      },
    );
    const observer = await connect({ servers: own.url });
    try {
      const h = headers();
      h.set(HEADERS.correlationId, 'corr-crash-2');
      const raw = await observer.request(ECHO_SUBJECTS.crash, '{}', { timeout: 2000, headers: h });
      expect(raw.headers?.get(HEADERS.error)).toBe('UNAVAILABLE');
      expect(JSON.parse(Buffer.from(raw.data).toString())).toEqual({
        code: 'UNAVAILABLE',
        message: 'retry later',
      });
      const logged = ownLogs
        .map((l) => JSON.parse(l))
        .filter((l) => l.correlationId === 'corr-crash-2' && l.level === 'error');
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatchObject({
        msg: 'handler failed',
        subject: ECHO_SUBJECTS.crash,
        error: {
          name: 'Error',
          stack: expect.stringContaining('at '),
          cause: {
            name: 'UnavailableError',
            code: 'UNAVAILABLE',
            message: 'the KV bucket did not answer',
          },
        },
      });
    } finally {
      await observer.close();
      await replica.close();
      await own.dispose();
    }
  });

  it('carries the correlation id from the caller through every hop', async () => {
    const h = headers();
    h.set(HEADERS.correlationId, 'corr-relay-1');
    const raw = await client.request(ECHO_SUBJECTS.relay, JSON.stringify({ id: 'r' }), {
      timeout: 2000,
      headers: h,
    });
    expect(JSON.parse(Buffer.from(raw.data).toString())).toEqual({
      outer: 'corr-relay-1',
      inner: 'corr-relay-1',
    });
  });

  it('serves /metrics with the handled-request counter', async () => {
    const port = replicas[0].app.get(OpsServer).port;
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(text).toMatch(
      /tillbus_bus_requests_handled_total\{subject="tillbus.test.echo",code="OK"\} \d+/,
    );
    expect(text).toContain('tillbus_nats_connected 1');
  });

  // CI installs promtool; a developer machine without it is told how to get it.
  it.skipIf(!findPromtool() && !process.env.CI)('passes `promtool check metrics`', async () => {
    if (!findPromtool()) throw new Error(PROMTOOL_HINT);
    const port = replicas[0].app.get(OpsServer).port;
    const exposition = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(promtoolCheckMetrics(exposition)).toEqual({ ok: true, output: '' });
  });
});

describe('a JetStream consumer pointed at a bus subject (nats-server#8274)', () => {
  it('is never acted on: the handlers see nothing, the service logs it and keeps serving', async () => {
    const jsm = await jetstreamManager(client);
    await jsm.streams.add({ name: 'TEST_INJECT', subjects: ['tillbus.test.inject.>'] });
    await jetstream(client).publish('tillbus.test.inject.1', JSON.stringify({ id: 'injected' }));
    const handledBefore = replicas.flatMap((r) => r.replica.handled).length;
    // With the handlers' queue group: without it the server sees no interest in queue subscribers.
    await jsm.consumers.add('TEST_INJECT', {
      deliver_subject: ECHO_SUBJECTS.echo,
      deliver_group: 'echo-test',
      ack_policy: AckPolicy.None,
    });
    await waitFor(() => logs.some((l) => l.includes('dropped a message a JetStream consumer')), {
      what: 'the dropped delivery logged',
    });
    expect(replicas.flatMap((r) => r.replica.handled)).not.toContain('injected');
    expect(replicas.flatMap((r) => r.replica.handled).length).toBe(handledBefore);
    await expect(request(ECHO_SUBJECTS.echo, { id: 'after' })).resolves.toMatchObject({
      id: 'after',
    });
    expect(isJetStreamDelivery({ reply: '$JS.ACK.S.C.1.1.1.1.0' })).toBe(true);
    expect(isJetStreamDelivery({ reply: '_INBOX_pos.abc' })).toBe(false);
    expect(isJetStreamDelivery({ reply: undefined })).toBe(false);
  });
});
