import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import {
  errors,
  type NatsConnection,
  type PermissionViolationError,
} from '@nats-io/transport-node';
import { EVENT_SUBJECTS, STREAMS, SUBJECTS } from '@tillbus/messaging';
import { spawnTypeScript, waitFor } from '@tillbus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEPLOY } from './manifests';
import {
  AUTH_CONFIG,
  checkNatsConfig,
  NATS_CONFIG,
  NATS_USERS,
  natsPassword,
  startConfiguredNats,
  type ConfiguredNats,
  type NatsUser,
} from './nats';

let nats: ConfiguredNats;
const clients = new Map<NatsUser, NatsConnection>();
const violations = new Map<NatsConnection, PermissionViolationError[]>();

async function as(user: NatsUser): Promise<NatsConnection> {
  const existing = clients.get(user);
  if (existing) return existing;
  const nc = await nats.connectAs(user);
  const seen: PermissionViolationError[] = [];
  violations.set(nc, seen);
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'error' && status.error instanceof errors.PermissionViolationError) {
        seen.push(status.error);
      }
    }
  })();
  clients.set(user, nc);
  return nc;
}

/** Waits until the server has refused `operation` on `subject` for this connection. */
async function expectRefused(
  nc: NatsConnection,
  operation: 'publish' | 'subscription',
  subject: string,
): Promise<void> {
  await waitFor(
    () => violations.get(nc)!.some((v) => v.operation === operation && v.subject === subject),
    { timeoutMs: 5000, what: `a permission violation for ${operation} to ${subject}` },
  );
}

/** Replies `{ ok: true, by }` to every request on `subject`, in the service's queue group. */
function answer(nc: NatsConnection, subject: string, by: string) {
  const received: string[] = [];
  const sub = nc.subscribe(subject, {
    queue: by,
    callback: (_err, msg) => {
      received.push(msg.subject);
      msg.respond(JSON.stringify({ ok: true, by }));
    },
  });
  return { received, sub };
}

beforeAll(async () => {
  nats = await startConfiguredNats();
});
afterAll(async () => {
  await nats?.dispose();
});

describe('NATS accounts and permissions (deploy/nats/auth.conf)', () => {
  it('is the file the Helm values embed, byte for byte, and a valid server configuration', () => {
    const values = parse(readFileSync(join(DEPLOY, 'nats/values.yaml'), 'utf8')) as {
      config: { merge: Record<string, string> };
      configMap: { merge: { data: Record<string, string> } };
    };
    expect(values.config.merge['00$include']).toBe('auth.conf');
    expect(values.configMap.merge.data['auth.conf']).toBe(readFileSync(AUTH_CONFIG, 'utf8'));
    const check = checkNatsConfig(NATS_CONFIG);
    expect(check.output).toContain('is valid');
    expect(check.ok).toBe(true);
  });

  it('needs passwords of letters and digits that start with a letter (the server parses the variable)', () => {
    // Both are passwords base64 could produce; the server refuses to start with either.
    for (const password of ['-Qx3', '1e51']) {
      expect(checkNatsConfig(NATS_CONFIG, { pos: password }).output).toMatch(
        /TILLBUS_NATS_POS_PASSWORD.*could not be parsed/,
      );
    }
    expect(checkNatsConfig(NATS_CONFIG, { pos: natsPassword() }).ok).toBe(true);
  });

  it('refuses a wrong password and an unknown user', async () => {
    const { connect } = await import('@nats-io/transport-node');
    await expect(
      connect({ servers: nats.url, user: 'pos', pass: 'wrong', maxReconnectAttempts: 0 }),
    ).rejects.toThrow(/Authorization/i);
    await expect(
      connect({ servers: nats.url, user: 'mallory', pass: 'x', maxReconnectAttempts: 0 }),
    ).rejects.toThrow(/Authorization/i);
  });

  describe('what each user is meant to do works', () => {
    it('a POS submits an EDC command across accounts and edc-command answers it', async () => {
      const edc = await as('edc-command');
      const responder = answer(edc, SUBJECTS.edc.submit, 'edc-command');
      await edc.flush();
      const reply = await (await as('pos')).request(SUBJECTS.edc.submit, '{}', { timeout: 3000 });
      expect(reply.json()).toEqual({ ok: true, by: 'edc-command' });
      expect(responder.received).toEqual([SUBJECTS.edc.submit]);
      responder.sub.unsubscribe();
    });

    it('the operator registers an EasyCard reader (tillbus easycard register)', async () => {
      const easycard = await as('easycard-session');
      const responder = answer(easycard, SUBJECTS.easycard.readersRegister, 'easycard-session');
      await easycard.flush();
      const reply = await (
        await as('operator')
      ).request(SUBJECTS.easycard.readersRegister, '{}', { timeout: 3000 });
      expect(reply.json()).toEqual({ ok: true, by: 'easycard-session' });
      responder.sub.unsubscribe();
    });

    it('the EasyCard POS component, and only it, receives a session key from easycard-session', async () => {
      const easycard = await as('easycard-session');
      const responder = answer(easycard, SUBJECTS.easycard.sessionKey, 'easycard-session');
      await easycard.flush();
      const reply = await (
        await as('pos-easycard')
      ).request(SUBJECTS.easycard.sessionKey, '{}', {
        timeout: 3000,
      });
      expect(reply.json()).toEqual({ ok: true, by: 'easycard-session' });
      responder.sub.unsubscribe();
    });

    it('edc-command sends a bridge its command and gets the ack; the bridge’s events reach edc-command', async () => {
      const edc = await as('edc-command');
      const bridge = await as('bridge-store0001');
      const command = 'tillbus.edc.bridge.store0001-edc1.command';
      const bridgeSide = bridge.subscribe(command, {
        callback: (_err, msg) => {
          msg.respond(JSON.stringify({ type: 'ack' }));
        },
      });
      await bridge.flush();
      const ack = await edc.request(command, '{}', { timeout: 3000 });
      expect(ack.json()).toEqual({ type: 'ack' });
      bridgeSide.unsubscribe();

      const jsm = await jetstreamManager(edc);
      await jsm.streams.add({
        name: 'TILLBUS_EDC_BRIDGE',
        subjects: ['tillbus.edc.bridge.*.events'],
      });
      await jsm.consumers.add('TILLBUS_EDC_BRIDGE', {
        durable_name: 'edc-command',
        ack_policy: AckPolicy.Explicit,
      });
      const ackFromStream = await jetstream(bridge).publish(
        'tillbus.edc.bridge.store0001-edc1.events',
        JSON.stringify({ type: 'result' }),
      );
      expect(ackFromStream.stream).toBe('TILLBUS_EDC_BRIDGE');
      const consumer = await jetstream(edc).consumers.get('TILLBUS_EDC_BRIDGE', 'edc-command');
      const msg = await consumer.next({ expires: 2000 });
      expect(msg?.json()).toEqual({ type: 'result' });
      msg!.ack();
      await edc.flush();
    });

    it('the certification identity certifies its test device with `tillbus bridge certify`, the simulator as its bridge', async () => {
      const edc = await as('edc-command');
      const jsm = await jetstreamManager(edc);
      await jsm.streams
        .add({ name: 'TILLBUS_EDC_BRIDGE', subjects: ['tillbus.edc.bridge.*.events'] })
        .catch(() => undefined);
      // a person's pace: the certifier cancels at READY, before the simulated card comes 2.5 s later
      const bridge = spawnTypeScript(
        join(__dirname, '../../apps/simulators/src/kicc/cli.ts'),
        { NATS_USER: 'simulators', NATS_PASSWORD: nats.passwords.simulators },
        ['--nats', nats.url, '--bridge', 'cert0001=cert0001-edc1', '--heartbeat-ms', '1000'],
      );
      try {
        await bridge.waitForOutput(/simulator ready/);
        const run = spawnSync(
          process.execPath,
          [
            join(__dirname, '../../apps/cli/bin/tillbus.js'),
            'bridge',
            'certify',
            '--device',
            'cert0001-edc1',
            '--bridge',
            'cert0001',
            '--json',
          ],
          {
            encoding: 'utf8',
            timeout: 150_000,
            env: {
              ...process.env,
              TILLBUS_CLI_FROM_SOURCE: '1',
              NATS_URL: nats.url,
              NATS_USER: 'certify-cert0001',
              NATS_PASSWORD: nats.passwords['certify-cert0001'],
            },
          },
        );
        const report = JSON.parse(run.stdout) as {
          passed: boolean;
          checks: { id: string; status: string; evidence: string }[];
        };
        const notPassed = report.checks.filter((c) => c.status === 'FAIL');
        expect(notPassed, run.stderr).toEqual([]);
        expect(run.status).toBe(0);
        expect(nats.log()).not.toMatch(/Violation - User "certify-cert0001"/);
      } finally {
        bridge.kill();
        await bridge.exited;
      }
    }, 180_000);

    it('a POS reports an order event into TILLBUS_ORDERS, and order-reconciliation consumes it', async () => {
      const orders = await as('order-reconciliation');
      const jsm = await jetstreamManager(orders);
      await jsm.streams.add({ name: STREAMS.orders, subjects: [EVENT_SUBJECTS.ordersAll] });
      const ack = await jetstream(await as('pos')).publish(
        EVENT_SUBJECTS.order('accepted', 'order-1'),
        JSON.stringify({ status: 'ACCEPTED' }),
      );
      expect(ack.stream).toBe(STREAMS.orders);
      await jsm.consumers.add(STREAMS.orders, {
        durable_name: 'order-reconciliation',
        ack_policy: AckPolicy.Explicit,
      });
      const consumer = await jetstream(orders).consumers.get(
        STREAMS.orders,
        'order-reconciliation',
      );
      const msg = await consumer.next({ expires: 2000 });
      expect(msg?.subject).toBe(EVENT_SUBJECTS.order('accepted', 'order-1'));
      msg!.ack();
    });

    it.each(['short-order-number', 'ready-time', 'refund', 'delivery-status'])(
      'a POS reports a %s change into TILLBUS_ORDERS',
      async (kind) => {
        const jsm = await jetstreamManager(await as('order-reconciliation'));
        await jsm.streams.add({ name: STREAMS.orders, subjects: [EVENT_SUBJECTS.ordersAll] });
        const ack = await jetstream(await as('pos')).publish(
          EVENT_SUBJECTS.order(kind, 'order-2'),
          JSON.stringify({ requestOrderId: 'order-2' }),
        );
        // The stream's ack is the proof it was stored (a refused publish gets no ack, only a violation).
        expect(ack).toMatchObject({ stream: STREAMS.orders, duplicate: false });
        expect(ack.seq).toBeGreaterThan(0);
      },
    );

    it('a service keeps state in its own KV bucket and reads it back on its own inbox', async () => {
      const kv = await new Kvm(await as('device-health')).create('tillbus_device_health_terminals');
      await kv.put('t1', JSON.stringify({ vendor: 'antom' }));
      expect((await kv.get('t1'))?.json()).toEqual({ vendor: 'antom' });
    });

    it("device-health forwards a diagnose to the deployment that serves the terminal's vendor", async () => {
      const adyenDeployment = await as('device-health');
      const served = adyenDeployment.subscribe(SUBJECTS.deviceHealth.diagnoseAdyen, { queue: 'q' });
      (async () => {
        for await (const msg of served) msg.respond(JSON.stringify({ forwarded: true }));
      })();
      await adyenDeployment.flush();
      const antomDeployment = await as('device-health');
      const reply = await antomDeployment.request(SUBJECTS.deviceHealth.diagnoseAdyen, '{}', {
        timeout: 2000,
      });
      expect(reply.json()).toEqual({ forwarded: true });
      served.unsubscribe();
    });

    it('a POS receives the new orders order-reconciliation forwards', async () => {
      const pos = await as('pos');
      const created = pos.subscribe('tillbus.events.orders.created.>', { max: 1 });
      await pos.flush();
      await jetstream(await as('order-reconciliation')).publish(
        EVENT_SUBJECTS.order('created', 'order-2'),
        JSON.stringify({ requestOrderId: 'order-2' }),
      );
      for await (const msg of created) expect(msg.json()).toEqual({ requestOrderId: 'order-2' });
    });

    it('a POS watches EDC progress events that edc-command publishes', async () => {
      const pos = await as('pos');
      const events = pos.subscribe(EVENT_SUBJECTS.edcAll, { max: 1 });
      await pos.flush();
      const edc = await as('edc-command');
      await jetstreamManager(edc).then((jsm) =>
        jsm.streams.add({ name: STREAMS.edc, subjects: [EVENT_SUBJECTS.edcAll] }),
      );
      await jetstream(edc).publish(EVENT_SUBJECTS.edc('dev1', 'req1'), '{"state":"READY"}');
      for await (const msg of events) expect(msg.subject).toBe('tillbus.events.edc.dev1.req1');
    });
  });

  describe('a user outside its permissions is refused', () => {
    // [why, user, operation, subject, a legitimate listener that must not receive it]
    const crossings: [string, NatsUser, 'publish' | 'subscription', string, NatsUser?][] = [
      [
        'only POS users submit EDC commands',
        'device-health',
        'publish',
        SUBJECTS.edc.submit,
        'edc-command',
      ],
      [
        'not even the operator submits EDC commands',
        'operator',
        'publish',
        SUBJECTS.edc.submitAndWait,
        'edc-command',
      ],
      [
        'a bridge cannot submit EDC commands',
        'bridge-store0001',
        'publish',
        SUBJECTS.edc.submit,
        'edc-command',
      ],
      [
        'only edc-command talks to bridges (POS)',
        'pos',
        'publish',
        'tillbus.edc.bridge.store0001-edc1.command',
        'bridge-store0001',
      ],
      [
        'only edc-command talks to bridges (another service)',
        'device-health',
        'publish',
        'tillbus.edc.bridge.store0001-edc1.command',
        'bridge-store0001',
      ],
      [
        'only edc-command reads bridge results',
        'order-reconciliation',
        'subscription',
        'tillbus.edc.bridge.*.events',
      ],
      [
        'only edc-command reads bridge heartbeats',
        'operator',
        'subscription',
        'tillbus.edc.bridge.heartbeat.*',
      ],
      [
        'a bridge speaks only for its own devices',
        'bridge-store0001',
        'publish',
        'tillbus.edc.bridge.store0002-edc1.events',
      ],
      [
        'a bridge cannot read what JetStream delivers to edc-command',
        'bridge-store0001',
        'subscription',
        '_INBOX_edc-command.>',
      ],
      [
        'a service cannot read another service’s inbox',
        'device-health',
        'subscription',
        '_INBOX_easycard-session.>',
      ],
      [
        'a POS cannot ask for an EasyCard session key',
        'pos',
        'publish',
        SUBJECTS.easycard.sessionKey,
        'easycard-session',
      ],
      [
        'a POS cannot register EasyCard readers (only the operator can)',
        'pos',
        'publish',
        SUBJECTS.easycard.readersRegister,
        'easycard-session',
      ],
      [
        'the operator cannot ask for an EasyCard session key',
        'operator',
        'publish',
        SUBJECTS.easycard.sessionKey,
        'easycard-session',
      ],
      [
        'another service cannot take EasyCard key requests',
        'device-health',
        'subscription',
        SUBJECTS.easycard.sessionKey,
      ],
      [
        'the EasyCard POS component cannot submit EDC commands',
        'pos-easycard',
        'publish',
        SUBJECTS.edc.submit,
      ],
      [
        'a service cannot write another service’s KV bucket',
        'easycard-session',
        'publish',
        '$KV.tillbus_edc_command_commands.dev1',
      ],
      [
        'edc-command cannot take EasyCard key requests',
        'edc-command',
        'subscription',
        SUBJECTS.easycard.sessionKey,
      ],
      [
        'edc-command cannot change order state',
        'edc-command',
        'publish',
        '$KV.tillbus_order_reconciliation_orders.o1',
      ],
      [
        'the simulators cannot submit EDC commands',
        'simulators',
        'publish',
        SUBJECTS.edc.submit,
        'edc-command',
      ],
      [
        'the simulators cannot read EDC progress',
        'simulators',
        'subscription',
        EVENT_SUBJECTS.edcAll,
      ],
      [
        'the certification identity commands only its test device',
        'certify-cert0001',
        'publish',
        'tillbus.edc.bridge.store0001-edc1.command',
        'bridge-store0001',
      ],
      [
        'the certification identity reads only its test device’s events',
        'certify-cert0001',
        'subscription',
        'tillbus.edc.bridge.store0001-edc1.events',
      ],
      [
        'the certification identity reads only its test bridge’s heartbeat',
        'certify-cert0001',
        'subscription',
        'tillbus.edc.bridge.heartbeat.*',
      ],
      [
        'the certification identity cannot pull from edc-command’s durable',
        'certify-cert0001',
        'publish',
        '$JS.API.CONSUMER.MSG.NEXT.TILLBUS_EDC_BRIDGE.edc-command',
      ],
      [
        'the certification identity cannot read the stream for another device',
        'certify-cert0001',
        'publish',
        '$JS.API.CONSUMER.CREATE.TILLBUS_EDC_BRIDGE.certify-cert0001-edc1.tillbus.edc.bridge.store0001-edc1.events',
      ],
      [
        'the certification identity cannot read other users’ replies',
        'certify-cert0001',
        'subscription',
        '_INBOX.>',
      ],
      [
        'a service cannot delete a stream',
        'device-health',
        'publish',
        '$JS.API.STREAM.DELETE.TILLBUS_EDC',
      ],
      [
        'a service cannot purge its own stream either',
        'order-reconciliation',
        'publish',
        `$JS.API.STREAM.PURGE.${STREAMS.orders}`,
      ],
      [
        'a POS cannot register terminals',
        'pos',
        'publish',
        SUBJECTS.deviceHealth.terminalsUpsert,
        'device-health',
      ],
      [
        'a POS cannot redeliver D-Store notifications',
        'pos',
        'publish',
        SUBJECTS.orderReconciliation.redeliver,
        'order-reconciliation',
      ],
      [
        'a POS cannot forge a notification to D-Store (the outbox)',
        'pos',
        'publish',
        'tillbus.events.orders.notify.o1',
      ],
      [
        'a POS cannot fake a new D-Store order',
        'pos',
        'publish',
        'tillbus.events.orders.created.o1',
      ],
      [
        'the operator cannot refund an order: only a POS does',
        'operator',
        'publish',
        'tillbus.events.orders.refund.o1',
      ],
      [
        'the EasyCard POS component cannot refund an order',
        'pos-easycard',
        'publish',
        'tillbus.events.orders.refund.o1',
      ],
      [
        'a bridge cannot set a pickup code',
        'bridge-store0001',
        'publish',
        'tillbus.events.orders.short-order-number.o1',
      ],
      [
        'a service cannot move an order’s ready time or delivery status',
        'device-health',
        'publish',
        'tillbus.events.orders.ready-time.o1',
      ],
      [
        'the simulators cannot report a delivery status',
        'simulators',
        'publish',
        'tillbus.events.orders.delivery-status.o1',
      ],
      [
        'a service cannot publish another domain’s events',
        'easycard-session',
        'publish',
        'tillbus.events.orders.accepted.o1',
      ],
    ];

    it.each(crossings)('%s: %s %s %s', async (_why, user, operation, subject, listener) => {
      let delivered = 0;
      let listening: { unsubscribe(): void } | undefined;
      if (listener) {
        const nc = await as(listener);
        listening = nc.subscribe(subject, {
          callback: () => {
            delivered++;
          },
        });
        await nc.flush();
      }
      const nc = await as(user);
      if (operation === 'publish') nc.publish(subject, '{}');
      else nc.subscribe(subject);
      await nc.flush().catch(() => undefined);
      await expectRefused(nc, operation, subject);
      // The refused message went nowhere, not even to a user who may read that subject.
      if (listener) await (await as(listener)).flush();
      expect(delivered).toBe(0);
      listening?.unsubscribe();
    });

    it('logs every refusal on the server with the user’s name', () => {
      expect(nats.log()).toMatch(
        /Publish Violation - User "device-health", Subject "tillbus\.edc\.command\.submit"/,
      );
      expect(nats.log()).toMatch(
        /Subscription Violation - User "bridge-store0001", Subject "_INBOX_edc-command\.>"/,
      );
    });

    it('covers every user of auth.conf', () => {
      const tested = new Set(crossings.map(([, user]) => user));
      for (const user of Object.keys(NATS_USERS)) {
        expect(tested, user).toContain(user);
      }
    });
  });
});
