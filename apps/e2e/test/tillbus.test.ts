import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeliverPolicy, jetstream, type ConsumerMessages } from '@nats-io/jetstream';
import { EVENT_SUBJECTS, STREAMS, SUBJECTS } from '@tillbus/contracts';
import { publishEvent } from '@tillbus/messaging';
import { waitFor } from '@tillbus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLOCK_RATE,
  FAST_SETTINGS,
  ROOT,
  startE2eStack,
  type CliRun,
  type E2eStack,
  type ServiceName,
} from './support/stack';

/**
 * tillbus end to end: `npm start`'s orchestrator runs every service and simulator as its own process against a
 * private nats-server, and the scenarios below cross every service boundary the way production does, several
 * steps through the `tillbus` CLI. The scenarios share the one stack, in order; the last one restarts every service.
 */
let stack: E2eStack;

beforeAll(async () => {
  stack = await startE2eStack();
});

afterAll(async () => {
  // Ctrl-C: everything stops cleanly, and stop() fails if any process of the stack survives.
  const code = await stack?.stop();
  expect(code).toBe(0);
});

const KICC_CONTROL = 'tillbus.sim.kicc-bridge.control';
const ADYEN_POI = 'V400m-000000001';
const ADYEN_TERMINAL = `adyen-${ADYEN_POI}`;

function json<T>(run: CliRun): T {
  expect(run.stderr, run.stdout).not.toMatch(/^error/m);
  return JSON.parse(run.stdout) as T;
}

async function kicc<T = Record<string, unknown>>(request: Record<string, unknown>): Promise<T> {
  const reply = await stack.nc.request(KICC_CONTROL, JSON.stringify(request), { timeout: 5000 });
  const body = reply.json<T & { ok: boolean; error?: string }>();
  if (!body.ok) throw new Error(`kicc control ${JSON.stringify(request)}: ${body.error}`);
  return body;
}

/** A live view of one JetStream subject, from now on. */
async function follow(stream: string, subject: string) {
  const consumer = await jetstream(stack.nc).consumers.get(stream, {
    filter_subjects: subject,
    deliver_policy: DeliverPolicy.New,
  });
  const messages: ConsumerMessages = await consumer.consume();
  const seen: { subject: string; data: Record<string, unknown> }[] = [];
  void (async () => {
    for await (const m of messages) seen.push({ subject: m.subject, data: m.json() });
  })();
  return { seen, close: () => messages.close() };
}

describe('npm start', () => {
  it('prints where everything runs and three commands to try', () => {
    const out = stack.output();
    for (const service of [
      'device-health',
      'order-reconciliation',
      'edc-command',
      'easycard-session',
    ]) {
      expect(out).toContain(`http://127.0.0.1:${stack.ports[service as ServiceName]}`);
    }
    expect(out).toContain(`http://127.0.0.1:${stack.ports['order-reconciliation-http']}/v2/pos/*`);
    expect(out.match(/^ {2}npx tillbus /gm)).toHaveLength(3);
  });

  it('every service serves /metrics and /healthz on the port the table names', async () => {
    for (const service of [
      'device-health',
      'order-reconciliation',
      'edc-command',
      'easycard-session',
    ] as const) {
      expect((await fetch(`${stack.ops(service)}/healthz`)).status).toBe(200);
      const metrics = await (await fetch(`${stack.ops(service)}/metrics`)).text();
      expect(metrics).toContain(`tillbus_${service.replace(/-/g, '_')}_`);
    }
  });

  it('a second start in the same checkout says one is running instead of failing on a port', () => {
    const second = spawnSync(
      process.execPath,
      [join(ROOT, 'tools/stack/start.js'), '--from-source', '--state-dir', stack.stateDir],
      { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NATS_URL: stack.nats.url } },
    );
    expect(second.status).toBe(1);
    expect(second.stdout).toContain('tillbus is already running here');
    expect(second.stdout).not.toMatch(/EADDRINUSE/);
  });
});

describe('1. terminal health', () => {
  it('a healthy terminal reads READY; "no paper" at run time turns it DEGRADED within one interval, with its event', async () => {
    await waitFor(
      async () => {
        const run = await stack.cli(['terminals', 'readiness', ADYEN_TERMINAL, '--json']);
        return run.code === 0 && json<{ status: string }>(run).status === 'READY';
      },
      { timeoutMs: 30_000, intervalMs: 500, what: `${ADYEN_TERMINAL} READY` },
    );
    const events = await follow(
      STREAMS.terminalHealth,
      EVENT_SUBJECTS.terminalHealth('adyen', ADYEN_TERMINAL),
    );
    const faultAt = Date.now();
    await stack.sim('adyen-fleet', 'PATCH', `/_sim/terminals/${ADYEN_POI}/faults`, {
      noPaper: true,
    });
    const event = await waitFor(() => events.seen.find((e) => e.data.status === 'DEGRADED')?.data, {
      timeoutMs: 15_000,
      what: 'the health event',
    });
    await events.close();
    expect(event.reasons).toContain('PRINTER_NO_PAPER');
    expect(event).toMatchObject({
      terminalId: ADYEN_TERMINAL,
      vendor: 'adyen',
      previous: { status: 'READY' },
    });
    // Seen by the poll that followed the fault: within one interval (plus that diagnosis's own time).
    const interval = Number(FAST_SETTINGS['device-health'].POLL_INTERVAL_MS);
    const timeout = Number(FAST_SETTINGS['device-health'].DIAGNOSIS_TIMEOUT_MS);
    expect(Date.parse(String(event.checkedAt)) - faultAt).toBeLessThanOrEqual(interval + timeout);

    const readiness = await stack.cli(['terminals', 'readiness', ADYEN_TERMINAL]);
    expect(readiness.code).toBe(0);
    expect(readiness.stdout).toMatch(/status: +DEGRADED/);
    expect(readiness.stdout).toMatch(/reasons: +PRINTER_NO_PAPER/);
    const degraded = json<{ terminalId: string }[]>(
      await stack.cli(['terminals', 'list', '--status', 'DEGRADED', '--json']),
    );
    expect(degraded.map((t) => t.terminalId)).toContain(ADYEN_TERMINAL);

    await stack.sim('adyen-fleet', 'DELETE', `/_sim/terminals/${ADYEN_POI}/faults`);
  });

  it('an unknown terminal is an error a person can act on, with its code and a non-zero exit', async () => {
    const run = await stack.cli(['terminals', 'readiness', 'no-such-terminal']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error \[NOT_FOUND\]: .*no-such-terminal/m);
    expect(run.stderr).toMatch(/^hint: `tillbus terminals list`/m);
  });
});

interface EdcRun {
  command: {
    phase: string;
    outcome: string;
    resolution: string;
    requestId: string;
    result?: Record<string, unknown>;
  };
  events: { seq: number; type: string; code?: string; status?: string }[];
}

describe('2. a purchase and its cancel', () => {
  it('shows the progress events in order, then the outcome; PurchaseCancel with its acquirerMetaData succeeds', async () => {
    const requestId = `e2e-purchase-${Date.now().toString(36)}`;
    const run = await stack.cli([
      'edc',
      'purchase',
      'sim-b0-d0',
      '15000',
      '--request-id',
      requestId,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.split('\n');
    const at = (pattern: RegExp) => lines.findIndex((l) => pattern.test(l));
    const order = [
      / READY /,
      / CARD_DETECTED /,
      / CARD_READ_COMPLETED /,
      / START_TRANSACTION /,
      / = SUCCESS /,
    ];
    const positions = order.map(at);
    expect(
      positions.every((p) => p >= 0),
      run.stdout,
    ).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(run.stdout).toMatch(/amount: +15,000 KRW/);
    expect(run.stdout).toMatch(/card BIN: +52364979/);

    const record = json<EdcRun['command']>(await stack.cli(['edc', 'get', requestId, '--json']));
    expect(record).toMatchObject({ phase: 'succeeded', outcome: 'SUCCESS', resolution: 'device' });
    expect(JSON.stringify(record)).not.toContain('acquirerMetaData');

    const cancel = json<EdcRun>(
      await stack.cli(['edc', 'cancel', 'sim-b0-d0', requestId, '--json']),
    );
    expect(cancel.command).toMatchObject({ phase: 'succeeded', outcome: 'SUCCESS' });
    expect(cancel.command.result).toMatchObject({
      paymentAmount: { value: '15000', currency: 'KRW' },
    });
    const seqs = cancel.events.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const executed = await kicc<{ executed: { requestId: string; commandName: string }[] }>({
      op: 'executed',
      deviceId: 'sim-b0-d0',
    });
    expect(executed.executed.filter((e) => e.commandName === 'PurchaseCancel')).toHaveLength(1);
  });
});

describe('3. a lost Purchase result', () => {
  it('is recovered to succeeded by GetLastTransaction, and the device ran exactly one Purchase', async () => {
    const device = 'sim-b0-d1';
    // The device's previous transaction is what lets a GetLastTransaction without requestId settle a recovery.
    expect((await stack.cli(['edc', 'purchase', device, '1000'])).code).toBe(0);
    await kicc({ op: 'faults', deviceId: device, faults: { dropResults: 1 } });
    const requestId = `e2e-lost-${Date.now().toString(36)}`;
    const run = json<EdcRun>(
      await stack.cli(['edc', 'purchase', device, '12000', '--request-id', requestId, '--json']),
    );
    expect(run.command).toMatchObject({
      phase: 'succeeded',
      outcome: 'SUCCESS',
      resolution: 'recovery',
    });
    expect(run.events.some((e) => e.type === 'recovery')).toBe(true);
    const executed = await kicc<{ executed: { requestId: string; commandName: string }[] }>({
      op: 'executed',
      deviceId: device,
    });
    expect(executed.executed.filter((e) => e.requestId === requestId)).toEqual([
      expect.objectContaining({ commandName: 'Purchase', requestId }),
    ]);
  });
});

interface DStoreState {
  faults: { dropNextFor: string[] };
  beliefs: Record<string, string>;
  effects: { requestId: string; requestOrderId: string; orderStatus: string }[];
}

const ORDER = `e2e-order-${Date.now().toString(36)}`;

describe('3b. the first payments on a fresh device, both results lost', () => {
  it('settles both (950, then 951) by the baseline read before the first; none is in doubt, so none can be settled by hand', async () => {
    const device = 'sim-b0-d2';
    await kicc({ op: 'faults', deviceId: device, faults: { dropResults: 2 } });
    const requestIds: string[] = [];
    for (const amount of ['950', '951']) {
      const requestId = `e2e-first-${amount}-${Date.now().toString(36)}`;
      requestIds.push(requestId);
      const run = json<EdcRun>(
        await stack.cli(['edc', 'purchase', device, amount, '--request-id', requestId, '--json']),
      );
      expect({ amount, ...run.command }).toMatchObject({
        amount,
        phase: 'succeeded',
        outcome: 'SUCCESS',
        resolution: 'recovery',
      });
    }
    const settle = await stack.cli([
      'edc',
      'settle',
      requestIds[0],
      '--device',
      device,
      '--outcome',
      'FAILED',
      '--reason',
      'e2e: it is not in doubt',
    ]);
    expect(settle.code).toBe(1);
    expect(settle.stderr).toMatch(/error \[NOT_IN_DOUBT\]/);
  });
});

describe('4. a D-Store order whose notification is lost', () => {
  it('inquiry answers the current status, and the dropped notification is delivered on retry', async () => {
    const created = await stack.sim<{
      result: { resultStatus: string };
      signature: { ok: boolean };
    }>('dstore', 'POST', '/_sim/order', { requestOrderId: ORDER });
    expect(created).toMatchObject({ result: { resultStatus: 'S' }, signature: { ok: true } });
    const belief = (status: string) =>
      waitFor(
        async () =>
          (await stack.sim<DStoreState>('dstore', 'GET', '/_sim/state')).beliefs[ORDER] === status,
        { timeoutMs: 20_000, intervalMs: 200, what: `D-Store to believe ${status}` },
      );
    for (const kind of ['accepted', 'preparing']) {
      const run = await stack.cli(['orders', 'pos-event', ORDER, kind]);
      expect(run.code, run.stderr).toBe(0);
    }
    await belief('PREPARING');

    const lost = stack.sim<{
      consistent: boolean;
      dropped: { orderStatus: string; requestId: string };
      inquiry: { body: { orderStatus: string }; result: { resultStatus: string } };
    }>('dstore', 'POST', '/_sim/lost-notification', { requestOrderId: ORDER, timeoutMs: 30_000 });
    await waitFor(async () =>
      (await stack.sim<DStoreState>('dstore', 'GET', '/_sim/state')).faults.dropNextFor.includes(
        ORDER,
      ),
    );
    expect((await stack.cli(['orders', 'pos-event', ORDER, 'ready'])).code).toBe(0);
    const report = await lost;
    expect(report.dropped.orderStatus).toBe('READY');
    expect(report.inquiry).toMatchObject({
      result: { resultStatus: 'S' },
      body: { orderStatus: 'READY' },
    });
    expect(report.consistent).toBe(true);

    await belief('READY');
    const order = json<{
      status: string;
      notifications: {
        orderStatus: string;
        deliveryStatus: string;
        attempts: number;
        requestId: string;
      }[];
    }>(await stack.cli(['orders', 'get', ORDER, '--json']));
    expect(order.status).toBe('READY');
    const ready = order.notifications.find((n) => n.orderStatus === 'READY')!;
    expect(ready).toMatchObject({
      deliveryStatus: 'delivered',
      requestId: report.dropped.requestId,
    });
    expect(ready.attempts).toBeGreaterThanOrEqual(2);
    const state = await stack.sim<DStoreState>('dstore', 'GET', '/_sim/state');
    expect(state.effects.filter((e) => e.requestId === ready.requestId)).toHaveLength(1);
  });
});

const FULL_ORDER = `e2e-full-${Date.now().toString(36)}`;

describe('4b. D-Store orders as D-Store really sends them, with fields no one has seen', () => {
  it('a full DELIVERY order answers S, its pickup time and address show in `orders get`, a delivery-only push is applied', async () => {
    await stack.sim('dstore', 'POST', '/_sim/faults', { unseenFields: true });
    try {
      const created = await stack.sim<{ result: { resultStatus: string; resultCode: string } }>(
        'dstore',
        'POST',
        '/_sim/order',
        { requestOrderId: FULL_ORDER },
      );
      expect(created.result).toMatchObject({ resultStatus: 'S', resultCode: 'SUCCESS' });
      const pushed = await stack.sim<{ result: { resultStatus: string } }>(
        'dstore',
        'POST',
        '/_sim/push-delivery',
        { requestOrderId: FULL_ORDER, deliveryStatus: 'DRIVER_ARRIVED_AT_STORE' },
      );
      expect(pushed.result.resultStatus).toBe('S');
      const edited = await stack.sim<{ result: { resultStatus: string } }>(
        'dstore',
        'POST',
        '/_sim/push-items',
        { requestOrderId: FULL_ORDER },
      );
      expect(edited.result.resultStatus).toBe('S');
    } finally {
      await stack.sim('dstore', 'POST', '/_sim/faults', { unseenFields: false });
    }
    const shown = await stack.cli(['orders', 'get', FULL_ORDER]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/wanted at: +2026-12-07T12:30:00\+08:00/);
    expect(shown.stdout).toMatch(/address: +10 Bayfront Avenue.*018956/);
    expect(shown.stdout).toMatch(/delivery: +DRIVER_ARRIVED_AT_STORE/);
    expect(shown.stdout).toMatch(/\{"productId":"latte","quantity":1.*APPLIED/);
    const order = json<{
      status: string;
      deliveryStatus: string;
      order: Record<string, unknown>;
      pushes: { change?: Record<string, unknown> }[];
    }>(await stack.cli(['orders', 'get', FULL_ORDER, '--json']));
    expect(order.status).toBe('ORDER_SUCCESS');
    // The fields no one has seen were kept verbatim, at the top and nested.
    expect(order.order).toMatchObject({
      simUnseenFlag: true,
      simUnseenObject: { version: 2 },
      customer: { simUnseenNested: 'kept?' },
    });
    expect(order.pushes[0].change).toMatchObject({
      deliveryStatus: 'DRIVER_ARRIVED_AT_STORE',
      simUnseenFlag: true,
    });

    // The POS accepts it; D-Store (strict about notifyOrderChange's fields) shows the buyer the new status.
    expect((await stack.cli(['orders', 'pos-event', FULL_ORDER, 'accepted'])).code).toBe(0);
    const buyer = await waitFor(
      async () => {
        const view = await stack.sim<{ orderStatus?: string; paid?: object; refunds: number }>(
          'dstore',
          'GET',
          `/_sim/buyer/${FULL_ORDER}`,
        );
        return view.orderStatus === 'ACCEPTED' ? view : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200, what: 'the buyer to see ACCEPTED' },
    );
    expect(buyer).toMatchObject({ paid: { value: 1280, currency: 'SGD' }, refunds: 0 });
  });
});

const PICKUP_ORDER = `e2e-pickup-${Date.now().toString(36)}`;

describe('4c. the POS tells D-Store everything the buyer needs', () => {
  it('accepted, pickup code, ready time moved, partial refund, completed: the buyer sees it all; an over-refund is refused', async () => {
    const created = await stack.sim<{ result: { resultStatus: string } }>(
      'dstore',
      'POST',
      '/_sim/order',
      { requestOrderId: PICKUP_ORDER, serviceType: 'PICKUP' },
    );
    expect(created.result.resultStatus).toBe('S');
    const steps: string[][] = [
      ['accepted'],
      ['short-order-number', '--short-order-number', 'A17'],
      ['ready-time', '--ready-time', '2026-12-07T12:45:00+08:00'],
      ['ready-time', '--ready-time', '2026-12-07T13:05:00+08:00'],
      ['refund', '--amount', '450', '--currency', 'SGD', '--requested-by', 'operator:e2e'],
      // 1280 paid, 450 refunded: 830 left, so 900 is an over-refund.
      ['refund', '--amount', '900', '--currency', 'SGD', '--requested-by', 'operator:e2e'],
      ['completed'],
    ];
    for (const [kind, ...options] of steps) {
      const run = await stack.cli(['orders', 'pos-event', PICKUP_ORDER, kind!, ...options]);
      expect(run.code, run.stderr).toBe(0);
    }
    const buyer = await waitFor(
      async () => {
        const view = await stack.sim<Record<string, unknown>>(
          'dstore',
          'GET',
          `/_sim/buyer/${PICKUP_ORDER}`,
        );
        return view.orderStatus === 'COMPLETED' ? view : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200, what: 'the buyer to see COMPLETED' },
    );
    expect(buyer).toEqual({
      orderStatus: 'COMPLETED',
      shortOrderNumber: 'A17',
      readyTime: '2026-12-07T13:05:00+08:00',
      paid: { value: 1280, currency: 'SGD' },
      refunded: { value: 450, currency: 'SGD' },
      refunds: 1,
    });
    // D-Store refuses undocumented fields with PARAM_ILLEGAL: none of this order's notifications was refused.
    const state = await stack.sim<{
      received: { requestOrderId?: string; answer: string; reason?: string }[];
    }>('dstore', 'GET', '/_sim/state');
    const received = state.received.filter((r) => r.requestOrderId === PICKUP_ORDER);
    expect(received.length).toBeGreaterThanOrEqual(6);
    expect(received.filter((r) => r.answer !== 'S')).toEqual([]);

    const order = json<{
      shortOrderNumber: string;
      readyTime: string;
      refunded: { value: number };
      refunds: { requestedBy: string; amount: { value: number } }[];
      changes: { kind: string; outcome: string; reason?: string }[];
      notifications: { deliveryStatus: string }[];
    }>(await stack.cli(['orders', 'get', PICKUP_ORDER, '--json']));
    expect(order).toMatchObject({
      shortOrderNumber: 'A17',
      readyTime: '2026-12-07T13:05:00+08:00',
      refunded: { value: 450 },
      refunds: [{ requestedBy: 'operator:e2e', amount: { value: 450 } }],
    });
    expect(order.changes.filter((c) => c.outcome === 'REFUSED')).toEqual([
      expect.objectContaining({
        kind: 'refund',
        reason: expect.stringMatching(/^REFUND_EXCEEDS_PAID/),
      }),
    ]);
    expect(order.notifications).toHaveLength(6);
    expect(order.notifications.every((n) => n.deliveryStatus === 'delivered')).toBe(true);
    const shown = await stack.cli(['orders', 'get', PICKUP_ORDER]);
    expect(shown.stdout).toMatch(/pickup code: +A17/);
    expect(shown.stdout).toMatch(/refunded: +4\.50 SGD in 1 refund/);
    expect(shown.stdout).toMatch(/REFUSED REFUND_EXCEEDS_PAID/);
  });
});

interface Session {
  deviceId: string;
  state: string;
  usable: boolean;
  signedAt: string;
  expiresAt: string;
  secondsUntilExpiry: number;
  renewals: number;
}

describe('5. EasyCard sessions', () => {
  it('readers are signed on at start; with an accelerated clock, renewal happens before expiry', async () => {
    const sessions = await waitFor(
      async () => {
        const list = json<{ sessions: Session[] }>(
          await stack.cli(['easycard', 'sessions', '--json']),
        ).sessions;
        return list.length === 3 && list.every((s) => s.state === 'signed' && s.usable)
          ? list
          : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: 'three signed-on readers' },
    );
    const events = await follow(STREAMS.easycard, EVENT_SUBJECTS.easycardSessionAll);
    // Jump the shared clock to one simulated minute before the 2 h renewal margin; at the suite's rate that
    // minute passes in about a second.
    const first = sessions[0];
    const marginMs = 2 * 3_600_000;
    const jumpMs = first.secondsUntilExpiry * 1000 - marginMs - 60_000;
    expect(jumpMs).toBeGreaterThan(27 * 3_600_000);
    writeFileSync(stack.clockOffsetFile, `${jumpMs}\n`);

    const renewed = await waitFor(
      async () => {
        const s = json<Session>(await stack.cli(['easycard', 'session', first.deviceId, '--json']));
        return s.renewals >= 1 && s.state === 'signed' ? s : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: `${first.deviceId} renewed` },
    );
    expect(Date.parse(renewed.signedAt)).toBeLessThan(Date.parse(first.expiresAt));
    expect(Date.parse(renewed.expiresAt)).toBeGreaterThan(Date.parse(first.expiresAt));
    await waitFor(() =>
      events.seen.some((e) => e.data.type === 'renewed' && e.data.deviceId === first.deviceId),
    );
    await events.close();
    expect(events.seen.filter((e) => e.data.type === 'expired')).toEqual([]);
    expect(JSON.stringify(events.seen)).not.toMatch(/NewAESKey|newAesKey/i);
    expect(CLOCK_RATE).toBeGreaterThan(1);

    const signOn = await stack.cli(['easycard', 'signon', first.deviceId]);
    expect(signOn.code).toBe(0);
    expect(signOn.stdout).toContain('is signed on and not due for renewal');
  });
});

describe('6. SIGTERM to every service with commands in flight', () => {
  it('each exits 0, nothing is lost, and after the restart every command has its outcome', async () => {
    const js = jetstream(stack.nc);
    const devices = ['sim-b0-d3', 'sim-b0-d4', 'sim-b0-d5'];
    for (const deviceId of devices) {
      // Results come back 3 s late: the service is gone by then, and must learn them after its restart.
      await kicc({ op: 'faults', deviceId, faults: { delayResultMs: 3000 } });
    }
    const requests = devices.map((deviceId, i) => ({
      deviceId,
      requestId: `e2e-inflight-${i}-${Date.now().toString(36)}`,
    }));
    for (const { deviceId, requestId } of requests) {
      const reply = await stack.nc.request(
        SUBJECTS.edc.submit,
        JSON.stringify({
          deviceId,
          requestId,
          commandName: 'Purchase',
          params: {
            paymentAmount: { value: '3000', currency: 'KRW' },
            tipAmount: { value: '0', currency: 'KRW' },
            creditPayPlan: { installmentNum: '0' },
            acquirerInfo: { acquirerTerminalId: '0788888', acquirerRegistrationNo: '0216001234' },
          },
        }),
        { timeout: 10_000 },
      );
      expect(reply.json<{ phase: string }>().phase).toBe('sent');
    }
    // The POS completes the order while order-reconciliation goes down.
    await publishEvent(js, EVENT_SUBJECTS.order('completed', ORDER), {
      requestOrderId: ORDER,
      eventId: `e2e-completed-${ORDER}`,
    });

    const services: ServiceName[] = [
      'device-health',
      'order-reconciliation',
      'edc-command',
      'easycard-session',
    ];
    const pids = Object.fromEntries(services.map((s) => [s, stack.pid(s)]));
    const codes = await Promise.all(services.map((s) => stack.terminate(s)));
    expect(Object.fromEntries(services.map((s, i) => [s, codes[i]]))).toEqual(
      Object.fromEntries(services.map((s) => [s, 0])),
    );
    await Promise.all(services.map((s) => stack.restarted(s, pids[s])));

    for (const { deviceId, requestId } of requests) {
      const view = await waitFor(
        async () => {
          const run = await stack.cli(['edc', 'get', requestId, '--device', deviceId, '--json']);
          const v = JSON.parse(run.stdout) as { final: boolean; phase: string; outcome: string };
          return v.final ? v : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 1000, what: `${requestId} to reach its outcome` },
      );
      expect(view).toMatchObject({ phase: 'succeeded', outcome: 'SUCCESS' });
      const executed = await kicc<{ executed: { requestId: string }[] }>({
        op: 'executed',
        deviceId,
      });
      expect(executed.executed.filter((e) => e.requestId === requestId)).toHaveLength(1);
    }

    await waitFor(
      async () =>
        (await stack.sim<DStoreState>('dstore', 'GET', '/_sim/state')).beliefs[ORDER] ===
        'COMPLETED',
      { timeoutMs: 30_000, intervalMs: 250, what: 'D-Store to learn COMPLETED' },
    );
    const order = json<{ status: string }>(await stack.cli(['orders', 'get', ORDER, '--json']));
    expect(order.status).toBe('COMPLETED');

    // What must hold after the restart: the terminal is READY again within a few polls. (Once in four runs a DOWN
    // from the restart's first seconds was read here; its cause is not yet explained.)
    const readiness = await waitFor(
      async () => {
        const r = json<{ status: string; stale: boolean; reasons?: unknown }>(
          await stack.cli(['terminals', 'readiness', 'adyen-V400m-000000002', '--json']),
        );
        return r.status === 'READY' ? r : undefined;
      },
      {
        timeoutMs: 30_000,
        intervalMs: 1000,
        what: 'adyen-V400m-000000002 READY after the restart',
      },
    );
    expect(readiness).toMatchObject({ status: 'READY', stale: false });
    const sessions = json<{ sessions: Session[] }>(
      await stack.cli(['easycard', 'sessions', '--json']),
    );
    expect(sessions.sessions.every((s) => s.usable)).toBe(true);
  });
});
