import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  EVENT_SUBJECTS,
  HEADERS,
  orderSubjectToken,
  type OrderView,
  type RedeliverResult,
  STREAMS,
  SUBJECTS,
} from '@tillbus/contracts';
import { publishEvent } from '@tillbus/messaging';
import { freePort, startTestNatsServer, waitFor, type TestNatsServer } from '@tillbus/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OUTBOX_DEAD_LETTERS } from '../src/orders/names';
import {
  busClient,
  busRequest,
  generateKeys,
  publishLifecycle,
  readStream,
  sampleOrder,
  serviceEnv,
  startInProcess,
  startSimProcess,
  waitForState,
  type InProcessService,
  type SimProcess,
  type SimState,
} from './support';

/**
 * The POS's changes besides a status, end to end against the strict simulated D-Store: short order number, ready
 * time, refunds and merchant delivery status, through the same outbox as statuses.
 */

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

type Effect = SimState['effects'][number] & Record<string, unknown>;

// sampleOrder: a DELIVERY order paid 9800 KRW.
async function createOrder(id: string, overrides: Record<string, unknown> = {}): Promise<void> {
  const answer = await sim.control<{ result?: { resultStatus: string } }>(
    '/_sim/createOrder',
    sampleOrder(id, overrides),
  );
  expect(answer.result?.resultStatus).toBe('S');
}

const get = (id: string) =>
  busRequest<OrderView>(nc, SUBJECTS.orderReconciliation.get, { requestOrderId: id });

const effectsOf = (state: SimState, id: string) =>
  state.effects.filter((e) => e.requestOrderId === id) as Effect[];

async function buyer(id: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${sim.url}/_sim/buyer/${encodeURIComponent(id)}`);
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

const refund = (value: number, requestedBy = 'till-3', extra: Record<string, unknown> = {}) => ({
  refundAmount: { value, currency: 'KRW' },
  requestedBy,
  ...extra,
});

async function waitForChange(id: string, kind: string, outcome: 'APPLIED' | 'REFUSED', count = 1) {
  return waitFor(
    async () => {
      const order = await get(id);
      const seen = (order.changes ?? []).filter((c) => c.kind === kind && c.outcome === outcome);
      return seen.length >= count ? order : undefined;
    },
    { what: `${count} ${outcome} ${kind} of ${id}`, timeoutMs: 15_000, intervalMs: 50 },
  );
}

describe('the POS tells D-Store what the buyer needs', () => {
  it('pickup code, ready time, partial refund and delivery status each reach D-Store alone, in order, with only documented fields', async () => {
    const id = 'buyer-1';
    await createOrder(id);
    await publishLifecycle(nc, 'accepted', id);
    await publishLifecycle(nc, 'short-order-number', id, { shortOrderNumber: 'A17' });
    await publishLifecycle(nc, 'ready-time', id, { readyTime: '2026-12-07T12:45:00+09:00' });
    await publishLifecycle(nc, 'ready-time', id, { readyTime: '2026-12-07T13:05:00+09:00' });
    await publishLifecycle(
      nc,
      'refund',
      id,
      refund(3000, 'operator:alice', { reason: 'one latte missing' }),
    );
    await publishLifecycle(nc, 'delivery-status', id, { deliveryStatus: 'DELIVERING' });
    await publishLifecycle(nc, 'completed', id);
    const state = await waitForState(sim, (s) => effectsOf(s, id).length === 7, '7 effects');
    const bodies = effectsOf(state, id).map(({ at: _at, requestId: _r, ...rest }) => rest);
    expect(bodies).toEqual([
      { requestOrderId: id, orderStatus: 'ACCEPTED' },
      { requestOrderId: id, shortOrderNumber: 'A17' },
      { requestOrderId: id, orderReadyTime: '2026-12-07T12:45:00+09:00' },
      { requestOrderId: id, orderReadyTime: '2026-12-07T13:05:00+09:00' },
      { requestOrderId: id, refundAmount: { value: 3000, currency: 'KRW' } },
      { requestOrderId: id, deliveryStatus: 'DELIVERING' },
      { requestOrderId: id, orderStatus: 'COMPLETED' },
    ]);
    // The strict simulator refuses undocumented fields: nothing was PARAM_ILLEGAL.
    expect(state.received.filter((r) => r.answer.includes('PARAM_ILLEGAL'))).toEqual([]);
    expect(await buyer(id)).toEqual({
      orderStatus: 'COMPLETED',
      shortOrderNumber: 'A17',
      readyTime: '2026-12-07T13:05:00+09:00',
      deliveryStatus: 'DELIVERING',
      paid: { value: 9800, currency: 'KRW' },
      refunded: { value: 3000, currency: 'KRW' },
      refunds: 1,
    });
    const order = await get(id);
    expect(order).toMatchObject({
      shortOrderNumber: 'A17',
      readyTime: '2026-12-07T13:05:00+09:00',
      deliveryStatus: 'DELIVERING',
      paid: { value: 9800, currency: 'KRW' },
      refunded: { value: 3000, currency: 'KRW' },
      refunds: [
        {
          amount: { value: 3000, currency: 'KRW' },
          requestedBy: 'operator:alice',
          reason: 'one latte missing',
        },
      ],
    });
    expect(new Set(order.notifications.map((n) => n.requestId)).size).toBe(7);
    expect(order.notifications.every((n) => n.deliveryStatus === 'delivered')).toBe(true);
  });

  it('refuses an over-refund: recorded in the order, nothing sent to D-Store', async () => {
    const id = 'over-1';
    await createOrder(id);
    await publishLifecycle(nc, 'refund', id, refund(6000));
    await waitForState(sim, (s) => effectsOf(s, id).length === 1, 'the first refund');
    await publishLifecycle(nc, 'refund', id, refund(3801, 'till-9'));
    const order = await waitForChange(id, 'refund', 'REFUSED');
    expect(order.changes!.at(-1)).toMatchObject({
      outcome: 'REFUSED',
      requestedBy: 'till-9',
      reason: expect.stringMatching(
        /^REFUND_EXCEEDS_PAID: 3801 KRW is more than is left to refund \(3800 of 9800 paid\)/,
      ),
    });
    expect(order.refunded).toEqual({ value: 6000, currency: 'KRW' });
    expect(order.notifications).toHaveLength(1);
    // What is left may still be refunded.
    await publishLifecycle(nc, 'refund', id, refund(3800));
    const state = await waitForState(sim, (s) => effectsOf(s, id).length === 2, 'the rest');
    expect(effectsOf(state, id).map((e) => (e.refundAmount as { value: number }).value)).toEqual([
      6000, 3800,
    ]);
    expect((await buyer(id)).refunded).toEqual({ value: 9800, currency: 'KRW' });
  });

  it('refuses a refund on a CANCELLED or REJECTED order (the default)', async () => {
    for (const [id, kind] of [
      ['cancel-1', 'cancelled'],
      ['reject-1', 'rejected'],
    ] as const) {
      await createOrder(id);
      await publishLifecycle(nc, kind, id);
      await publishLifecycle(nc, 'refund', id, refund(100));
      const order = await waitForChange(id, 'refund', 'REFUSED');
      expect(order.changes!.at(-1)!.reason).toMatch(/^REFUND_ON_CANCELLED/);
      expect(order.refunds).toEqual([]);
      expect(order.notifications.filter((n) => n.change)).toEqual([]);
    }
  });

  it('a refund event delivered twice is one refund, one notification', async () => {
    const id = 'twice-1';
    await createOrder(id);
    await publishLifecycle(nc, 'refund', id, refund(500, 'till-3', { eventId: 'pos-refund-1' }));
    await publishLifecycle(nc, 'refund', id, refund(500, 'till-3', { eventId: 'pos-refund-1' }));
    await publishLifecycle(nc, 'short-order-number', id, { shortOrderNumber: 'B2' });
    const state = await waitForState(sim, (s) => effectsOf(s, id).length === 2, 'two effects');
    const order = await get(id);
    expect(order.refunds).toHaveLength(1);
    expect(order.notifications).toHaveLength(2);
    expect(effectsOf(state, id).filter((e) => e.refundAmount)).toHaveLength(1);
  });

  it('a delivery status on a PICKUP order is refused', async () => {
    const id = 'pickup-1';
    await createOrder(id, { serviceType: 'PICKUP' });
    await publishLifecycle(nc, 'delivery-status', id, { deliveryStatus: 'DELIVERING' });
    const order = await waitForChange(id, 'delivery-status', 'REFUSED');
    expect(order.changes!.at(-1)!.reason).toMatch(/^NOT_MERCHANT_DELIVERY/);
    expect(order.deliveryStatus).toBeUndefined();
  });

  it('a refund D-Store answers F is dead-lettered with its change and redelivered with the same requestId', async () => {
    const id = 'dead-refund-1';
    await createOrder(id);
    await sim.control('/_sim/faults', { script: ['F'] });
    await publishLifecycle(nc, 'refund', id, refund(1200));
    const failed = await waitFor(
      async () => {
        const order = await get(id);
        return order.notifications[0]?.deliveryStatus === 'failed_final' ? order : undefined;
      },
      { what: 'the refund to fail', timeoutMs: 15_000, intervalMs: 50 },
    );
    const requestId = failed.notifications[0]!.requestId;
    const dead = await waitFor(
      async () => {
        const msgs = await readStream(nc, STREAMS.deadLetters, OUTBOX_DEAD_LETTERS);
        return msgs.find((m) => m.json<{ requestId: string }>().requestId === requestId);
      },
      { what: 'the dead letter' },
    );
    expect(dead.json()).toEqual({
      requestOrderId: id,
      requestId,
      change: { refundAmount: { value: 1200, currency: 'KRW' } },
      seq: 1,
    });
    expect(dead.headers?.get(HEADERS.deadLetterReason)).toMatch(/^failed_final/);
    const redelivered = await busRequest<RedeliverResult>(
      nc,
      SUBJECTS.orderReconciliation.redeliver,
      { requestOrderId: id },
    );
    expect(redelivered).toMatchObject({
      requestId,
      change: { refundAmount: { value: 1200, currency: 'KRW' } },
      requeued: true,
    });
    const state = await waitForState(sim, (s) => effectsOf(s, id).length === 1, 'the refund');
    expect(effectsOf(state, id)[0]!.requestId).toBe(requestId);
    const sent = state.received.filter((r) => r.requestOrderId === id);
    expect(sent.map((r) => r.requestId)).toEqual([requestId, requestId]);
    expect((await buyer(id)).refunded).toEqual({ value: 1200, currency: 'KRW' });
  });

  it('changes wait behind an undelivered status: D-Store gets them in order', async () => {
    const id = 'ordered-1';
    await createOrder(id);
    await sim.control('/_sim/faults', { script: ['U', 'U'] });
    await publishLifecycle(nc, 'accepted', id);
    await publishLifecycle(nc, 'short-order-number', id, { shortOrderNumber: 'C3' });
    await publishLifecycle(nc, 'refund', id, refund(100));
    const state = await waitForState(sim, (s) => effectsOf(s, id).length === 3, '3 effects');
    const sequence = state.received.filter((r) => r.requestOrderId === id).map((r) => r.answer);
    expect(sequence).toEqual(['U:UNKNOWN_EXCEPTION', 'U:UNKNOWN_EXCEPTION', 'S', 'S', 'S']);
    expect(
      effectsOf(state, id).map((e) =>
        Object.keys(e).filter((k) => !['at', 'requestId', 'requestOrderId'].includes(k)),
      ),
    ).toEqual([['orderStatus'], ['shortOrderNumber'], ['refundAmount']]);
  });

  it('dead-letters an invalid change event with the reason (a refund without who asked)', async () => {
    const id = 'invalid-1';
    await createOrder(id);
    await publishEvent(jetstream(nc), EVENT_SUBJECTS.order('refund', orderSubjectToken(id)), {
      requestOrderId: id,
      refundAmount: { value: 1, currency: 'KRW' },
    });
    const dead = await waitFor(
      async () => {
        const msgs = await readStream(
          nc,
          STREAMS.deadLetters,
          'tillbus.dlq.TILLBUS_ORDERS.order-reconciliation-lifecycle',
        );
        return msgs.find((m) => /requestedBy/.test(m.headers?.get(HEADERS.deadLetterReason) ?? ''));
      },
      { what: 'the dead letter' },
    );
    expect(dead.headers?.get(HEADERS.deadLetterReason)).toMatch(/invalid refund event/);
    expect((await get(id)).refunds).toEqual([]);
  });
});
