import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, nuid, type NatsConnection } from '@nats-io/transport-node';
import { easycardKeySubject } from '@tillbus/contracts';
import { applyProvisioning, tillbusProvisioning } from '@tillbus/messaging';
import { findNatsServerBinary, freePort, waitForPort } from '@tillbus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEPLOY } from './manifests';
import { natsPassword, startConfiguredNats, type ConfiguredNats } from './nats';

/**
 * A store connected the way docs/deployment.md chooses: its own leaf node (deploy/nats/store-leaf.conf, unchanged
 * but for the listen address and test credentials) dialling the cluster's leaf-node port over TLS, one remote per
 * account as the store's users of auth.conf. The store's bridge and EasyCard component connect to the leaf.
 */
let hub: ConfiguredNats;
let leaf: ChildProcess;
let leafUrl: string;
const local = { bridge: natsPassword(), easycard: natsPassword() };
const clients: NatsConnection[] = [];

async function onLeaf(user: 'bridge' | 'easycard', inboxPrefix: string): Promise<NatsConnection> {
  const nc = await connect({
    servers: leafUrl,
    user,
    pass: local[user],
    inboxPrefix,
    maxReconnectAttempts: 0,
  });
  clients.push(nc);
  return nc;
}

beforeAll(async () => {
  hub = await startConfiguredNats();
  const provisioner = await hub.connectAs('provisioner');
  await applyProvisioning(
    await jetstreamManager(provisioner),
    new Kvm(provisioner),
    tillbusProvisioning({}),
  );
  const port = await freePort();
  const remote = (user: 'bridge-store0001' | 'pos-easycard-store0001') =>
    `tls://${user}:${hub.passwords[user]}@127.0.0.1:${hub.leafPort}`;
  leaf = spawn(
    findNatsServerBinary()!,
    ['-c', join(DEPLOY, 'nats/store-leaf.conf'), '-a', '127.0.0.1', '-p', String(port)],
    {
      stdio: 'ignore',
      env: {
        ...process.env,
        TILLBUS_STORE: 'store0001',
        TILLBUS_NATS_CA_FILE: hub.certificates.caFile,
        TILLBUS_BRIDGE_REMOTE: remote('bridge-store0001'),
        TILLBUS_EASYCARD_REMOTE: remote('pos-easycard-store0001'),
        TILLBUS_LOCAL_BRIDGE_PASSWORD: local.bridge,
        TILLBUS_LOCAL_EASYCARD_PASSWORD: local.easycard,
        TILLBUS_LEAF_CERT_FILE: hub.certificates.certFile,
        TILLBUS_LEAF_KEY_FILE: hub.certificates.keyFile,
      },
    },
  );
  await waitForPort(port, 10_000, () => leaf.exitCode !== null);
  leafUrl = `tls://127.0.0.1:${port}`;
  // Both remotes are up once the hub sees the store's users.
  await new Promise((resolve) => setTimeout(resolve, 1500));
});

afterAll(async () => {
  await Promise.all(clients.map((nc) => nc.close().catch(() => undefined)));
  leaf?.kill('SIGTERM');
  await hub?.dispose();
});

describe('a store on its own leaf node', () => {
  it('its bridge takes its own devices’ commands from edc-command and acks them on the bridge reply prefix', async () => {
    const bridge = await onLeaf('bridge', '_INBOX_bridge-store0001');
    const seen: string[] = [];
    for (const device of ['store0001-edc1', 'store0002-edc1']) {
      bridge.subscribe(`tillbus.edc.bridge.${device}.command`, {
        callback: (_e, msg) => {
          seen.push(msg.subject);
          msg.respond(JSON.stringify({ type: 'ack', device }));
        },
      });
    }
    await bridge.flush();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const edc = await hub.connectAs('edc-command');
    // As sendToBridge asks: the ack comes back on _INBOX_edc-command.bridge.<unique>.
    const ask = (device: string) =>
      edc.request(`tillbus.edc.bridge.${device}.command`, '{}', {
        timeout: 2000,
        noMux: true,
        reply: `_INBOX_edc-command.bridge.${nuid.next()}`,
      });
    expect((await ask('store0001-edc1')).json()).toEqual({ type: 'ack', device: 'store0001-edc1' });
    // Another store's device: the cluster never routes it to this leaf.
    await expect(ask('store0002-edc1')).rejects.toThrow(/no responders/i);
    expect(seen).toEqual(['tillbus.edc.bridge.store0001-edc1.command']);
    // Why edc-command keeps a reply prefix for bridges: the cluster tells a leaf only about subscriptions its user
    // may publish to, so an ack for the shared inbox never leaves the store (measured on nats-server 2.9.10).
    await expect(
      edc.request('tillbus.edc.bridge.store0001-edc1.command', '{}', { timeout: 1000 }),
    ).rejects.toThrow(/timeout/i);
  });

  it('its results reach the bridge stream; results forged for another store’s device do not', async () => {
    const js = jetstream(await onLeaf('bridge', '_INBOX_bridge-store0001'));
    const jsm = await jetstreamManager(await hub.connectAs('provisioner'));
    const before = (await jsm.streams.info('TILLBUS_EDC_BRIDGE')).state.messages;
    const ack = await js.publish('tillbus.edc.bridge.store0001-edc1.events', '{"type":"result"}');
    expect(ack.stream).toBe('TILLBUS_EDC_BRIDGE');
    await expect(
      js.publish('tillbus.edc.bridge.store0002-edc1.events', '{}', { timeout: 1500 }),
    ).rejects.toThrow();
    expect((await jsm.streams.info('TILLBUS_EDC_BRIDGE')).state.messages).toBe(before + 1);
  });

  it('its EasyCard component gets its own readers’ keys, and no other store’s', async () => {
    const easycard = await hub.connectAs('easycard-session');
    easycard.subscribe('tillbus.easycard.session.key.*', {
      queue: 'easycard-session',
      callback: (_e, msg) => {
        msg.respond(JSON.stringify({ released: msg.subject }));
      },
    });
    await easycard.flush();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const store = await onLeaf('easycard', '_INBOX_pos-easycard-store0001');
    const own = await store.request(easycardKeySubject('EZ-STORE0001-01'), '{}', { timeout: 2000 });
    expect(own.json()).toEqual({ released: 'tillbus.easycard.session.key.EZ-STORE0001-01' });
    await expect(
      store.request(easycardKeySubject('EZ-STORE0002-01'), '{}', { timeout: 1000 }),
    ).rejects.toThrow();
  });
});
