import type { NatsConnection } from '@nats-io/transport-node';
import { type OrderView, SUBJECTS } from '@tillbus/contracts';
import {
  freePort,
  spawnTypeScript,
  startTestNatsServer,
  waitFor,
  type ChildService,
  type TestNatsServer,
} from '@tillbus/testing';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  busClient,
  busRequest,
  generateKeys,
  publishLifecycle,
  sampleOrder,
  serviceEnv,
  startSimProcess,
  waitForState,
  type SimProcess,
} from './support';

const ENTRY = join(__dirname, '../src/main.ts');
const keys = generateKeys();
let nats: TestNatsServer;
let sim: SimProcess;
let nc: NatsConnection;
let env: Record<string, string>;
let service: ChildService | undefined;

beforeAll(async () => {
  nats = await startTestNatsServer();
  const httpPort = await freePort();
  sim = await startSimProcess(keys, httpPort);
  env = serviceEnv(keys, nats.url, httpPort, sim.url);
  nc = await busClient(nats.url);
}, 90_000);

afterAll(async () => {
  service?.kill('SIGKILL');
  await nc?.close();
  await sim?.close();
  await nats?.dispose();
});

/** The service as a real process; resolves once it answers D-Store and the bus. */
async function startService(): Promise<ChildService> {
  service = spawnTypeScript(ENTRY, env);
  await service.waitForOutput(/"msg":"connected to NATS"/, 60_000);
  await waitFor(() => fetch(`http://127.0.0.1:${env.HTTP_PORT}/`).then(() => true), {
    what: 'the HTTP edge',
    timeoutMs: 30_000,
  });
  return service;
}

async function killHard(): Promise<void> {
  const child = service!;
  child.kill('SIGKILL');
  expect(await child.exited).toMatchObject({ signal: 'SIGKILL' });
}

const get = (id: string) =>
  busRequest<OrderView>(nc, SUBJECTS.orderReconciliation.get, { requestOrderId: id });

async function waitDelivered(id: string, status: string): Promise<OrderView> {
  return waitFor(
    async () => {
      const order = await get(id);
      return order.notifications.find((n) => n.orderStatus === status)?.deliveryStatus ===
        'delivered'
        ? order
        : undefined;
    },
    { what: `${status} delivered`, timeoutMs: 30_000, intervalMs: 100 },
  );
}

describe('a crash between "stored" and "notified"', () => {
  it('kill -9 while D-Store holds the notification: after a restart D-Store has it exactly once', async () => {
    const id = 'crash-1';
    await startService();
    const created = await sim.control<{ result: { resultCode: string } }>(
      '/_sim/createOrder',
      sampleOrder(id),
    );
    expect(created.result.resultCode).toBe('SUCCESS');

    // D-Store applies the notification but holds its answer, so the kill lands mid-flight.
    await sim.control('/_sim/faults', { hold: true });
    await publishLifecycle(nc, 'accepted', id, { eventId: 'crash-accepted' });
    const held = await waitForState(
      sim,
      (s) => s.received.some((r) => r.requestOrderId === id && r.answer === 'S (held)'),
      'the held notification',
      30_000,
    );
    const requestId = held.received.find((r) => r.requestOrderId === id)!.requestId!;
    await killHard();
    await sim.control('/_sim/faults', { hold: false });
    await sim.control('/_sim/release');

    await startService();
    const order = await waitDelivered(id, 'ACCEPTED');
    expect(order.notifications).toHaveLength(1);
    expect(order.notifications[0].requestId).toBe(requestId);
    const state = await sim.state();
    const receipts = state.received.filter((r) => r.requestOrderId === id);
    // Sent at least twice (before and after the crash), always with the same requestId ...
    expect(receipts.length).toBeGreaterThanOrEqual(2);
    expect(new Set(receipts.map((r) => r.requestId))).toEqual(new Set([requestId]));
    expect(receipts.slice(1).every((r) => r.duplicate)).toBe(true);
    // ... and applied by D-Store exactly once.
    expect(state.effects.filter((e) => e.requestOrderId === id)).toEqual([
      expect.objectContaining({ requestId, orderStatus: 'ACCEPTED' }),
    ]);
    await killHard();
  }, 120_000);

  it('kill -9 right after the status event is stored: the notification still arrives, exactly once', async () => {
    const id = 'crash-2';
    await startService();
    await sim.control('/_sim/createOrder', sampleOrder(id));
    await publishLifecycle(nc, 'preparing', id, { eventId: 'crash-preparing' });
    await waitFor(async () => (await get(id)).status === 'PREPARING', {
      what: 'the status to be stored',
      intervalMs: 5,
    });
    await killHard();

    await startService();
    await waitDelivered(id, 'PREPARING');
    const state = await sim.state();
    expect(state.effects.filter((e) => e.requestOrderId === id).map((e) => e.orderStatus)).toEqual([
      'PREPARING',
    ]);
    // SIGTERM after this: a clean exit.
    service!.kill('SIGTERM');
    expect(await service!.exited).toEqual({ code: 0, signal: null });
  }, 120_000);
});

describe('configuration', () => {
  it('refuses an invalid configuration with one readable line, no secret in it, and exit code 1', async () => {
    const bad = spawnTypeScript(ENTRY, {
      ...env,
      HTTP_PORT: 'eighty',
      DSTORE_CLIENT_IDS: '',
      POS_PRIVATE_KEY_REF: '-----BEGIN PRIVATE KEY-----MIIEvQIBADANBgkqhkiG9w0BAQEFAASC',
    });
    const exit = await bad.exited;
    expect(exit.code).toBe(1);
    const lines = bad.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('HTTP_PORT');
    expect(lines[0]).toContain('DSTORE_CLIENT_IDS');
    expect(lines[0]).toContain('POS_PRIVATE_KEY_REF must be a secret reference');
    expect(lines[0]).not.toContain('MIIEvQIBADANBgkqhkiG9w0BAQEFAASC');
  }, 60_000);

  it('refuses a key reference that does not resolve, naming the setting and not the key', async () => {
    const bad = spawnTypeScript(ENTRY, { ...env, POS_PRIVATE_KEY_REF: 'env:NOT_SET_ANYWHERE' });
    const exit = await bad.exited;
    expect(exit.code).toBe(1);
    expect(bad.output()).toContain('POS_PRIVATE_KEY_REF: secret env:NOT_SET_ANYWHERE');
    expect(bad.output()).not.toContain('BEGIN');
  }, 60_000);
});
