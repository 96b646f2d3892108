import { jetstream, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  type BusRequestError,
  EVENT_SUBJECTS,
  HEADERS,
  orderSubjectToken,
  type OrderView,
  type RedeliverResult,
  STREAMS,
  type StuckReport,
  SUBJECTS,
} from '@tillbus/contracts';
import { publishEvent } from '@tillbus/messaging';
import { OpsServer } from '@tillbus/observability';
import {
  findPromtool,
  freePort,
  promtoolCheckMetrics,
  startTestNatsServer,
  waitFor,
  type TestNatsServer,
} from '@tillbus/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OUTBOX_DEAD_LETTERS } from '../src/orders/names';
import {
  busClient,
  busRequest,
  readStream as readStreamOf,
  generateKeys,
  publishLifecycle,
  sampleOrder,
  serviceEnv,
  startInProcess,
  startSimProcess,
  waitForState,
  type InProcessService,
  type SimProcess,
  type SimState,
} from './support';

const keys = generateKeys();
let nats: TestNatsServer;
let service: InProcessService;
let sim: SimProcess;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startTestNatsServer();
  const httpPort = await freePort();
  sim = await startSimProcess(keys, httpPort);
  service = await startInProcess(serviceEnv(keys, nats.url, httpPort, sim.url));
  nc = await busClient(nats.url);
}, 90_000);

afterAll(async () => {
  await nc?.close();
  await service?.close();
  await sim?.close();
  await nats?.dispose();
});

beforeEach(async () => {
  await sim.control('/_sim/reset');
});

type Call = { result?: { resultStatus: string; resultCode: string }; signature: { ok: boolean } };

async function createOrder(id: string): Promise<void> {
  const answer = await sim.control<Call>('/_sim/createOrder', sampleOrder(id));
  expect(answer.signature.ok).toBe(true);
  expect(answer.result).toMatchObject({ resultStatus: 'S', resultCode: 'SUCCESS' });
}

const get = (id: string) =>
  busRequest<OrderView>(nc, SUBJECTS.orderReconciliation.get, { requestOrderId: id });

const effectsFor = (state: SimState, id: string) =>
  state.effects.filter((e) => e.requestOrderId === id).map((e) => e.orderStatus);

async function waitForNotification(id: string, status: string, deliveryStatus: string) {
  return waitFor(
    async () => {
      const order = await get(id);
      const n = order.notifications.find((x) => x.orderStatus === status);
      return n?.deliveryStatus === deliveryStatus ? order : undefined;
    },
    { what: `${status} of ${id} to be ${deliveryStatus}`, timeoutMs: 15_000, intervalMs: 50 },
  );
}

function readStream(stream: string, subject: string): Promise<JsMsg[]> {
  return readStreamOf(nc, stream, subject);
}

async function metrics(): Promise<string> {
  const port = service.running.app.get(OpsServer).port;
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  const line = text.split('\n').find((l) => {
    if (!l.startsWith(`${name}{`) && !l.startsWith(`${name} `)) return false;
    return Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`));
  });
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('createOrder forwards the order to the POS', () => {
  it('publishes tillbus.events.orders.created.<orderToken> once the order is stored, once per order', async () => {
    await createOrder('fwd-1');
    await sim.control('/_sim/createOrder', sampleOrder('fwd-1'));
    const events = await readStream(
      STREAMS.orders,
      EVENT_SUBJECTS.order('created', orderSubjectToken('fwd-1')),
    );
    expect(events).toHaveLength(1);
    expect(events[0].json()).toMatchObject({
      requestOrderId: 'fwd-1',
      posOrderId: (await get('fwd-1')).posOrderId,
      order: { orderChannel: 'GRABFOOD', orderAmount: { value: 9800, currency: 'KRW' } },
    });
  });

  it('forwards an id that is not a subject token under its hashed token', async () => {
    const id = 'pds_2109.weird id/with*chars_1';
    await createOrder(id);
    const token = orderSubjectToken(id);
    expect(token).toMatch(/^=[A-Za-z0-9_-]{43}$/);
    const events = await readStream(STREAMS.orders, EVENT_SUBJECTS.order('created', token));
    expect(events[0].json()).toMatchObject({ requestOrderId: id });
  });
});

describe('POS lifecycle events and notifyOrderChange', () => {
  it('notifies D-Store of every POS status change, in order, each exactly once, verified', async () => {
    const id = 'life-1';
    await createOrder(id);
    for (const kind of ['accepted', 'preparing', 'ready', 'completed'])
      await publishLifecycle(nc, kind, id, { eventId: `${id}-${kind}` });
    const state = await waitForState(sim, (s) => effectsFor(s, id).length === 4, '4 notifications');
    expect(effectsFor(state, id)).toEqual(['ACCEPTED', 'PREPARING', 'READY', 'COMPLETED']);
    expect(state.received.filter((r) => r.requestOrderId === id).every((r) => r.verified)).toBe(
      true,
    );
    expect(state.beliefs[id]).toBe('COMPLETED');
    const order = await waitForNotification(id, 'COMPLETED', 'delivered');
    expect(order.status).toBe('COMPLETED');
    expect(order.notifications.map((n) => [n.seq, n.orderStatus, n.deliveryStatus])).toEqual([
      [1, 'ACCEPTED', 'delivered'],
      [2, 'PREPARING', 'delivered'],
      [3, 'READY', 'delivered'],
      [4, 'COMPLETED', 'delivered'],
    ]);
    const inquiry = await sim.control<Call & { body: { orderStatus: string } }>(
      '/_sim/inquireOrderDetail',
      { requestOrderId: id },
    );
    expect(inquiry.body.orderStatus).toBe('COMPLETED');
  });

  it('a duplicate event is harmless; a regression is refused, recorded, counted and keeps the newer state', async () => {
    const id = 'life-2';
    await createOrder(id);
    const before = metricValue(
      await metrics(),
      'tillbus_order_reconciliation_refused_transitions_total',
      { source: 'pos', reason: 'REGRESSION' },
    );
    await publishLifecycle(nc, 'ready', id, {
      eventId: 'e-ready',
      extendInfo: { pickupCode: '42' },
    });
    await publishLifecycle(nc, 'ready', id, { eventId: 'e-ready' });
    await publishLifecycle(nc, 'ready', id, { eventId: 'e-ready-again' });
    await publishLifecycle(nc, 'accepted', id, { eventId: 'e-accepted-late' });
    const order = await waitFor(
      async () => {
        const o = await get(id);
        return o.refused.length === 1 ? o : undefined;
      },
      { what: 'the refusal to be recorded' },
    );
    expect(order.status).toBe('READY');
    expect(order.refused[0]).toMatchObject({
      reported: 'ACCEPTED',
      current: 'READY',
      reason: 'REGRESSION',
      source: 'pos',
      ref: 'e-accepted-late',
    });
    expect(order.extendInfo).toEqual({ pickupCode: '42' });
    const state = await waitForState(sim, (s) => effectsFor(s, id).length === 1, 'READY');
    expect(effectsFor(state, id)).toEqual(['READY']);
    expect(order.notifications).toHaveLength(1);
    const after = metricValue(
      await metrics(),
      'tillbus_order_reconciliation_refused_transitions_total',
      { source: 'pos', reason: 'REGRESSION' },
    );
    expect(after - before).toBe(1);
    const inquiry = await sim.control<{ body: { orderStatus: string; extendInfo: unknown } }>(
      '/_sim/inquireOrderDetail',
      { requestOrderId: id },
    );
    expect(inquiry.body).toMatchObject({ orderStatus: 'READY', extendInfo: { pickupCode: '42' } });
  });

  it('dead-letters events for unknown orders and invalid events, with the reason', async () => {
    await publishLifecycle(nc, 'accepted', 'no-such-order', { eventId: 'x' });
    await publishEvent(jetstream(nc), EVENT_SUBJECTS.order('accepted', 'bad-body'), {
      requestOrderId: 'bad-body',
      surprise: true,
    });
    await publishEvent(jetstream(nc), EVENT_SUBJECTS.order('shipped', 'bad-kind'), {
      requestOrderId: 'bad-kind',
    });
    const dead = await waitFor(
      async () => {
        const msgs = await readStream(
          STREAMS.deadLetters,
          'tillbus.dlq.TILLBUS_ORDERS.order-reconciliation-lifecycle',
        );
        return msgs.length >= 3 ? msgs : undefined;
      },
      { what: 'three dead letters' },
    );
    const reasons = dead.map((m) => m.headers?.get(HEADERS.deadLetterReason) ?? '');
    expect(reasons.some((r) => /unknown order/.test(r))).toBe(true);
    expect(reasons.some((r) => /surprise/.test(r))).toBe(true);
    expect(reasons.some((r) => /unknown order event kind "shipped"/.test(r))).toBe(true);
  });
});

describe('the outbox: delivery state machine', () => {
  it('retries U, a rate-limit answer and a dropped connection, then delivers exactly once', async () => {
    const id = 'retry-1';
    await createOrder(id);
    await sim.control('/_sim/faults', {
      script: ['U', 'F:REQUEST_TRAFFIC_EXCEED_LIMIT', 'DROP'],
    });
    await publishLifecycle(nc, 'accepted', id);
    const order = await waitForNotification(id, 'ACCEPTED', 'delivered');
    expect(order.notifications[0].attempts).toBe(4);
    const state = await sim.state();
    expect(state.received.filter((r) => r.requestOrderId === id).map((r) => r.answer)).toEqual([
      'U:UNKNOWN_EXCEPTION',
      'F:REQUEST_TRAFFIC_EXCEED_LIMIT',
      'DROP',
      'S',
    ]);
    expect(
      new Set(state.received.filter((r) => r.requestOrderId === id).map((r) => r.requestId)).size,
    ).toBe(1);
    expect(effectsFor(state, id)).toEqual(['ACCEPTED']);
  });

  it('keeps per-order order: a later status waits until the earlier one is delivered', async () => {
    const id = 'order-1';
    await createOrder(id);
    await sim.control('/_sim/faults', { script: ['U', 'U', 'U'] });
    await publishLifecycle(nc, 'accepted', id);
    await publishLifecycle(nc, 'preparing', id);
    await publishLifecycle(nc, 'ready', id);
    const state = await waitForState(sim, (s) => effectsFor(s, id).length === 3, '3 effects');
    expect(effectsFor(state, id)).toEqual(['ACCEPTED', 'PREPARING', 'READY']);
    const sequence = state.received
      .filter((r) => r.requestOrderId === id)
      .map((r) => `${r.orderStatus}:${r.answer}`);
    expect(sequence).toEqual([
      'ACCEPTED:U:UNKNOWN_EXCEPTION',
      'ACCEPTED:U:UNKNOWN_EXCEPTION',
      'ACCEPTED:U:UNKNOWN_EXCEPTION',
      'ACCEPTED:S',
      'PREPARING:S',
      'READY:S',
    ]);
  });

  it('F is final: dead-lettered with the reason, alerted by metric, and redeliver sends it again', async () => {
    const id = 'final-1';
    await createOrder(id);
    const before = metricValue(
      await metrics(),
      'tillbus_order_reconciliation_notifications_dead_lettered_total',
      { reason: 'failed_final' },
    );
    await sim.control('/_sim/faults', { script: ['F'] });
    await publishLifecycle(nc, 'accepted', id);
    const failed = await waitForNotification(id, 'ACCEPTED', 'failed_final');
    expect(failed.notifications[0]).toMatchObject({
      attempts: 1,
      lastFailure: { cause: 'ANSWER', resultStatus: 'F', resultCode: 'PROCESS_FAIL' },
    });
    const dead = await waitFor(
      async () => {
        const msgs = await readStream(STREAMS.deadLetters, OUTBOX_DEAD_LETTERS);
        return msgs.find((m) => m.json<{ requestOrderId: string }>().requestOrderId === id);
      },
      { what: 'the dead letter' },
    );
    expect(dead.headers?.get(HEADERS.deadLetterReason)).toBe(
      'failed_final: D-Store answered F PROCESS_FAIL',
    );
    expect(
      metricValue(
        await metrics(),
        'tillbus_order_reconciliation_notifications_dead_lettered_total',
        { reason: 'failed_final' },
      ) - before,
    ).toBe(1);
    const stuck = await busRequest<StuckReport>(nc, SUBJECTS.orderReconciliation.stuck, {
      olderThanMs: 3_600_000,
    });
    expect(stuck.orders.find((o) => o.requestOrderId === id)).toMatchObject({
      reasons: ['UNDELIVERED'],
      undelivered: [{ orderStatus: 'ACCEPTED', deliveryStatus: 'failed_final' }],
    });
    const redelivered = await busRequest<RedeliverResult>(
      nc,
      SUBJECTS.orderReconciliation.redeliver,
      { requestOrderId: id },
    );
    expect(redelivered).toMatchObject({
      orderStatus: 'ACCEPTED',
      deliveryStatus: 'pending',
      requeued: true,
    });
    const order = await waitForNotification(id, 'ACCEPTED', 'delivered');
    expect(order.notifications[0].redeliveries).toBe(1);
    expect(effectsFor(await sim.state(), id)).toEqual(['ACCEPTED']);
    const again = busRequest(nc, SUBJECTS.orderReconciliation.redeliver, {
      requestOrderId: id,
      requestId: redelivered.requestId,
    });
    await expect(again).rejects.toMatchObject({ code: 'NOT_REDELIVERABLE' });
  });

  it('dead-letters after NOTIFY_MAX_ATTEMPTS transient failures, lists it as stuck, and redelivers it', async () => {
    const id = 'dead-1';
    await createOrder(id);
    await sim.control('/_sim/faults', { defaultAnswer: 'U' });
    await publishLifecycle(nc, 'accepted', id);
    const dead = await waitForNotification(id, 'ACCEPTED', 'dead_letter');
    expect(dead.notifications[0]).toMatchObject({
      attempts: 4,
      lastFailure: { resultCode: 'UNKNOWN_EXCEPTION' },
    });
    const text = await metrics();
    expect(
      metricValue(text, 'tillbus_order_reconciliation_notifications_dead_lettered_total', {
        reason: 'max_attempts',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      metricValue(text, 'tillbus_order_reconciliation_notification_retries_total'),
    ).toBeGreaterThanOrEqual(3);
    await sim.control('/_sim/faults', { defaultAnswer: 'S' });
    await busRequest(nc, SUBJECTS.orderReconciliation.redeliver, { requestOrderId: id });
    await waitForNotification(id, 'ACCEPTED', 'delivered');
    expect(effectsFor(await sim.state(), id)).toEqual(['ACCEPTED']);
  });

  it('after a dead letter the next status still flows, and redelivering the older one is refused as superseded', async () => {
    const id = 'super-1';
    await createOrder(id);
    await sim.control('/_sim/faults', { script: ['F'] });
    await publishLifecycle(nc, 'accepted', id);
    await waitForNotification(id, 'ACCEPTED', 'failed_final');
    await publishLifecycle(nc, 'ready', id);
    await waitForNotification(id, 'READY', 'delivered');
    const refused = busRequest(nc, SUBJECTS.orderReconciliation.redeliver, { requestOrderId: id });
    await expect(refused).rejects.toMatchObject({ code: 'SUPERSEDED' });
  });

  it('a notification D-Store made obsolete with pushOrderChange is skipped, not sent late', async () => {
    const id = 'skip-1';
    await createOrder(id);
    await sim.control('/_sim/faults', { defaultAnswer: 'U' });
    await publishLifecycle(nc, 'ready', id);
    await waitFor(async () => (await get(id)).notifications[0]?.deliveryStatus === 'retrying', {
      what: 'a retry',
    });
    const push = await sim.control<Call>('/_sim/pushOrderChange', {
      requestId: 'skip-push',
      requestOrderId: id,
      orderStatus: 'CANCELLED',
    });
    expect(push.result?.resultCode).toBe('SUCCESS');
    await sim.control('/_sim/faults', { defaultAnswer: 'S' });
    const order = await get(id);
    expect(order.status).toBe('CANCELLED');
    expect(
      metricValue(await metrics(), 'tillbus_order_reconciliation_notifications_total', {
        outcome: 'skipped',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(order.notifications[0].skipped?.reason).toMatch(
      /D-Store itself moved the order to CANCELLED/,
    );
    const changed = await readStream(STREAMS.orders, EVENT_SUBJECTS.order('channel-changed', id));
    expect(changed.map((m) => m.json())).toEqual([
      expect.objectContaining({
        requestOrderId: id,
        orderStatus: 'CANCELLED',
        requestId: 'skip-push',
      }),
    ]);
    // Give the outbox a moment to (not) send the skipped READY.
    await new Promise((r) => setTimeout(r, 500));
    expect(effectsFor(await sim.state(), id)).toEqual([]);
  });

  it('a duplicated outbox message sends nothing twice', async () => {
    const id = 'dup-outbox-1';
    await createOrder(id);
    await publishLifecycle(nc, 'accepted', id);
    const order = await waitForNotification(id, 'ACCEPTED', 'delivered');
    const n = order.notifications[0];
    for (let i = 0; i < 3; i++)
      await publishEvent(
        jetstream(nc),
        EVENT_SUBJECTS.order('notify', orderSubjectToken(id)),
        { requestOrderId: id, requestId: n.requestId, orderStatus: 'ACCEPTED', seq: 1 },
        { messageId: `manual-${i}` },
      );
    await new Promise((r) => setTimeout(r, 500));
    const state = await sim.state();
    expect(state.received.filter((r) => r.requestOrderId === id)).toHaveLength(1);
  });

  it('retries an answer whose signature does not verify, and counts it', async () => {
    const id = 'badsig-1';
    await createOrder(id);
    await sim.control('/_sim/faults', { badSignature: true });
    await publishLifecycle(nc, 'accepted', id);
    await waitFor(async () => ((await get(id)).notifications[0]?.attempts ?? 0) >= 1, {
      what: 'an attempt',
    });
    await sim.control('/_sim/faults', { badSignature: false });
    const order = await waitForNotification(id, 'ACCEPTED', 'delivered');
    expect(order.notifications[0].attempts).toBeGreaterThanOrEqual(2);
    const text = await metrics();
    expect(
      metricValue(text, 'tillbus_order_reconciliation_signature_failures_total', {
        direction: 'response',
        reason: 'SIGNATURE_MISMATCH',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      metricValue(text, 'tillbus_order_reconciliation_notification_attempts_total', {
        result: 'BAD_SIGNATURE',
      }),
    ).toBeGreaterThanOrEqual(1);
  });
});

describe('the lost-notification scenario', () => {
  it('D-Store drops a notification, inquires, and learns the same status; the retry then delivers it', async () => {
    const id = 'lost-1';
    await createOrder(id);
    const report = sim.control<{
      consistent: boolean;
      dropped: { orderStatus: string };
      inquiry: { body: { orderStatus: string } };
    }>('/_sim/lost-notification', { requestOrderId: id, timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 100));
    await publishLifecycle(nc, 'accepted', id);
    const result = await report;
    expect(result.dropped.orderStatus).toBe('ACCEPTED');
    expect(result.inquiry.body.orderStatus).toBe('ACCEPTED');
    expect(result.consistent).toBe(true);
    await waitForNotification(id, 'ACCEPTED', 'delivered');
    expect(effectsFor(await sim.state(), id)).toEqual(['ACCEPTED']);
  });
});

describe('bus API', () => {
  it('answers NOT_FOUND for an unknown order and PARAM_ILLEGAL for a bad payload', async () => {
    await expect(get('nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const bad = busRequest(nc, SUBJECTS.orderReconciliation.stuck, { limit: 0, other: 1 });
    const error = (await bad.catch((e: unknown) => e)) as BusRequestError;
    expect(error.code).toBe('PARAM_ILLEGAL');
    expect(error.message).toMatch(/limit/);
    expect(error.message).toMatch(/other/);
  });

  it('lists orders that are not final and older than X', async () => {
    await createOrder('stuck-1');
    const report = await busRequest<StuckReport>(nc, SUBJECTS.orderReconciliation.stuck, {
      olderThanMs: 0,
    });
    const found = report.orders.find((o) => o.requestOrderId === 'stuck-1');
    expect(found).toMatchObject({ status: 'ORDER_SUCCESS', reasons: ['NOT_FINAL'] });
    expect(report.orders.find((o) => o.requestOrderId === 'life-1')).toBeUndefined();
    expect(report.scanned).toBeGreaterThanOrEqual(report.orders.length);
  });
});

describe('metrics', () => {
  it('exposes every service metric, with bounded labels, and promtool accepts the exposition', async () => {
    const text = await metrics();
    for (const name of [
      'tillbus_order_reconciliation_dstore_requests_total',
      'tillbus_order_reconciliation_dstore_request_duration_seconds',
      'tillbus_order_reconciliation_signature_failures_total',
      'tillbus_order_reconciliation_notification_attempts_total',
      'tillbus_order_reconciliation_notification_retries_total',
      'tillbus_order_reconciliation_notifications_total',
      'tillbus_order_reconciliation_notifications_dead_lettered_total',
      'tillbus_order_reconciliation_redeliveries_total',
      'tillbus_order_reconciliation_lifecycle_events_total',
      'tillbus_order_reconciliation_refused_transitions_total',
      'tillbus_order_reconciliation_status_changes_total',
      'tillbus_order_reconciliation_orders',
      'tillbus_order_reconciliation_orders_with_undelivered_notifications',
    ])
      expect(text).toContain(`# HELP ${name} `);
    expect(
      metricValue(text, 'tillbus_order_reconciliation_dstore_requests_total', {
        api: 'createOrder',
        result_code: 'SUCCESS',
      }),
    ).toBeGreaterThan(0);
    await waitFor(
      async () =>
        metricValue(await metrics(), 'tillbus_order_reconciliation_orders', {
          status: 'COMPLETED',
        }) >= 1,
      { what: 'the orders gauge' },
    );
    // No order or request id ever appears as a label value.
    expect(text).not.toMatch(/life-1|ntf-|fwd-1/);
    if (findPromtool()) expect(promtoolCheckMetrics(text)).toMatchObject({ ok: true });
  });
});
