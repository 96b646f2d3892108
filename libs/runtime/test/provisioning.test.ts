import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { BaseServiceConfig, loadConfig } from '@tillbus/config';
import { freePort, startTestNatsServer, waitFor, type TestNatsServer } from '@tillbus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyProvisioning,
  missingProvisioning,
  serviceProvisioning,
  tillbusProvisioning,
} from '@tillbus/messaging';
import { startService, type RunningService } from '../src';
import { echoModule } from './fixtures/echo-app';

let nats: TestNatsServer;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startTestNatsServer();
  nc = await connect({ servers: nats.url });
});
afterAll(async () => {
  await nc?.close();
  await nats?.dispose();
});

describe('provisioning: one set of declarations, applied by one step, verified by the services', () => {
  it('a service in verify mode on a server without its streams says which are missing, stays not ready, and never exits; it becomes ready once they are provisioned', async () => {
    const plan = serviceProvisioning('order-reconciliation', {});
    const opsPort = await freePort();
    const logs: string[] = [];
    const config = loadConfig(BaseServiceConfig, {
      NATS_URL: nats.url,
      OPS_PORT: String(opsPort),
      NATS_PROVISIONING: 'verify',
    });
    let running: RunningService | undefined;
    const starting = startService({
      module: echoModule(config, { name: 'verify', handled: [] }, (l) => logs.push(l), plan),
    }).then((r) => (running = r));

    const readyz = async () => {
      const res = await fetch(`http://127.0.0.1:${opsPort}/readyz`).catch(() => undefined);
      return res ? { status: res.status, body: await res.text() } : undefined;
    };
    // 503 from the first moment (naming the step), then with the list once the first check has run
    const body = await waitFor(
      async () => {
        const answer = await readyz();
        return answer?.status === 503 && answer.body.includes('not provisioned')
          ? answer.body
          : undefined;
      },
      { what: '/readyz answering 503 with what is missing' },
    );
    for (const what of [
      'stream TILLBUS_DLQ',
      'stream TILLBUS_ORDERS',
      'bucket tillbus_order_reconciliation_orders',
      'bucket tillbus_order_reconciliation_replay',
      'consumer TILLBUS_ORDERS/order-reconciliation-lifecycle',
      'consumer TILLBUS_ORDERS/order-reconciliation-outbox',
    ]) {
      expect(body).toContain(what);
    }
    await waitFor(() => logs.filter((l) => l.includes('verify provisioning')).length >= 2, {
      what: 'a second check, with backoff',
    });
    const logged = JSON.parse(logs.find((l) => l.includes('verify provisioning'))!) as {
      missing: string[];
    };
    expect(logged.missing).toContain('stream TILLBUS_ORDERS');
    // Nothing was created by the service itself.
    const jsm = await jetstreamManager(nc);
    expect(await missingProvisioning(jsm, plan)).toHaveLength(6);
    expect(running).toBeUndefined();

    await applyProvisioning(jsm, new Kvm(nc), plan);
    await starting;
    await waitFor(async () => (await readyz())?.status === 200, { what: '/readyz answering 200' });
    await running!.close();
  }, 30_000);

  it('applies every declaration, idempotently, and then nothing is missing', async () => {
    const jsm = await jetstreamManager(nc);
    const plan = tillbusProvisioning({ EDC_OWNER_LEASE_MS: 9000 });
    const done = await applyProvisioning(jsm, new Kvm(nc), plan);
    expect(done).toContain('stream TILLBUS_EDC_BRIDGE');
    expect(done).toContain('consumer TILLBUS_EDC_BRIDGE/edc-command');
    expect(done).toContain('bucket tillbus_easycard_session_sessions');
    await applyProvisioning(jsm, new Kvm(nc), plan);
    expect(await missingProvisioning(jsm, plan)).toEqual([]);
    expect((await jsm.streams.info('KV_tillbus_edc_command_owners')).config.max_age).toBe(
      9000 * 1_000_000,
    );
    expect(new Set(plan.streams.map((s) => s.name)).size).toBe(plan.streams.length);
  });
});
