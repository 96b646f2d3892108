import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  EVENT_SUBJECTS,
  orderSubjectToken,
  type OrderView,
  STREAMS,
  SUBJECTS,
} from '@tillbus/contracts';
import {
  ANTOM_PATHS,
  dstoreDeliveryOrder,
  dstoreDeliveryPush,
  dstoreItemEditPush,
} from '@tillbus/protocols-antom';
import { freePort, startTestNatsServer, waitFor, type TestNatsServer } from '@tillbus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORDERS_BUCKET } from '../src/orders/names';
import {
  busClient,
  busRequest,
  generateKeys,
  readStream,
  sendSigned,
  serviceEnv,
  startInProcess,
  type Answer,
  type InProcessService,
} from './support';

// D-Store orders as D-Store sends them (dstore-samples.ts: D-Store's create_order, push_order_change and
// data_dictionary tables), against two replicas sharing one nats-server, as in production.

const keys = generateKeys();
let nats: TestNatsServer;
let replicas: InProcessService[];
let nc: NatsConnection;
const CREATE = ANTOM_PATHS.CREATE_ORDER;
const PUSH = ANTOM_PATHS.PUSH_ORDER_CHANGE;
const INQUIRE = ANTOM_PATHS.INQUIRE_ORDER_DETAIL;

beforeAll(async () => {
  nats = await startTestNatsServer();
  replicas = [];
  for (let i = 0; i < 2; i++) {
    const env = serviceEnv(keys, nats.url, await freePort(), 'http://127.0.0.1:9', {
      RATE_LIMIT_PER_SECOND: '10000',
      RATE_LIMIT_BURST: '10000',
    });
    replicas.push(await startInProcess(env));
  }
  nc = await busClient(nats.url);
});

afterAll(async () => {
  await nc?.close();
  for (const replica of replicas ?? []) await replica.close();
  await nats?.dispose();
});

let sent = 0;
const T0 = Date.now();
/** Signed as D-Store signs; each request gets its own Request-Time, so no two are the same signature. */
function send(path: string, body: object, replica = 0): Promise<Answer> {
  return sendSigned(replicas[replica].url, keys, path, body, {
    time: String(T0 + sent++),
  });
}

function get(requestOrderId: string): Promise<OrderView> {
  return busRequest<OrderView>(nc, SUBJECTS.orderReconciliation.get, { requestOrderId });
}

const code = (answer: Answer) => answer.body.result.resultCode;

describe('a createOrder with every documented field, plus fields never seen', () => {
  const id = 'full-order-1';
  const order = {
    ...dstoreDeliveryOrder(id),
    deliveryFee: { value: 300, currency: 'SGD' },
    promotion: { code: 'NEWYEAR', discount: { value: 100, currency: 'SGD' } },
  };

  it('answers S, and the stored order and the created event keep all of it', async () => {
    expect(code(await send(CREATE, order))).toBe('SUCCESS');
    const { requestOrderId: _id, ...details } = order;
    const view = await get(id);
    expect(view.order).toEqual(details);
    expect(view.order.expectFulfillmentTime).toBe('2026-12-07T12:30:00+08:00');
    expect(view.order.customer).toMatchObject({
      deliveryAddress: { postCode: '018956', blockNo: '10', unitNo: '05' },
    });
    const created = await readStream(
      nc,
      STREAMS.orders,
      EVENT_SUBJECTS.order('created', orderSubjectToken(id)),
    );
    expect(created.map((m) => m.json<{ order: unknown }>().order)).toEqual([details]);
  });

  it('a retry with other unknown fields is the same order; other documented content is a conflict', async () => {
    expect(code(await send(CREATE, { ...order, traceId: 'retry-2' }, 1))).toBe('SUCCESS');
    const conflict = await send(CREATE, {
      ...order,
      expectFulfillmentTime: '2026-12-07T13:00:00+08:00',
    });
    expect(code(conflict)).toBe('PROCESS_FAIL');
  });
});

describe('pushes without a status', () => {
  const id = 'push-only-1';

  beforeAll(async () => {
    expect(code(await send(CREATE, dstoreDeliveryOrder(id)))).toBe('SUCCESS');
  });

  it('a delivery-only push is applied: the order shows it, the POS gets it, the status stays', async () => {
    const push = { ...dstoreDeliveryPush(id, 'dlv-1', 'DRIVER_ARRIVED_AT_STORE'), eta: '12:20' };
    expect(code(await send(PUSH, push))).toBe('SUCCESS');
    const view = await get(id);
    expect(view).toMatchObject({
      status: 'ORDER_SUCCESS',
      deliveryStatus: 'DRIVER_ARRIVED_AT_STORE',
    });
    expect(view.pushes).toEqual([
      expect.objectContaining({
        requestId: 'dlv-1',
        outcome: 'APPLIED',
        change: { deliveryStatus: 'DRIVER_ARRIVED_AT_STORE', eta: '12:20' },
      }),
    ]);
    const events = await readStream(
      nc,
      STREAMS.orders,
      EVENT_SUBJECTS.order('channel-changed', orderSubjectToken(id)),
    );
    expect(events.map((m) => m.json())).toEqual([
      expect.objectContaining({
        requestId: 'dlv-1',
        deliveryStatus: 'DRIVER_ARRIVED_AT_STORE',
        eta: '12:20',
      }),
    ]);
    expect(events[0].json()).not.toHaveProperty('orderStatus');
    expect((await send(INQUIRE, { requestOrderId: id })).body.orderStatus).toBe('ORDER_SUCCESS');
  });

  it('an item edit with its refund is applied and shown as sent', async () => {
    const push = dstoreItemEditPush(id, 'edit-1');
    expect(code(await send(PUSH, push, 1))).toBe('SUCCESS');
    const view = await get(id);
    expect(view.pushes.find((p) => p.requestId === 'edit-1')?.change).toEqual({
      updatedOrderProducts: push.updatedOrderProducts,
      refundInfo: push.refundInfo,
    });
  });
});

describe('pushes racing across two replicas (issue 21, defect 5)', () => {
  it('40 concurrent pushes to one order, split over both replicas: every one S, every one applied once', async () => {
    const id = 'race-push-1';
    expect(code(await send(CREATE, dstoreDeliveryOrder(id)))).toBe('SUCCESS');
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        send(PUSH, dstoreDeliveryPush(id, `race-${i}`, `STEP_${i}`), i % 2),
      ),
    );
    expect(answers.map(code)).toEqual(Array.from({ length: 40 }, () => 'SUCCESS'));
    const view = await get(id);
    expect(view.pushes.map((p) => p.requestId).sort()).toEqual(
      Array.from({ length: 40 }, (_, i) => `race-${i}`).sort(),
    );
  });

  it('the same push 20 times at once on both replicas: all S, stored once, one event', async () => {
    const id = 'race-dup-1';
    expect(code(await send(CREATE, dstoreDeliveryOrder(id)))).toBe('SUCCESS');
    const push = { requestId: 'dup-1', requestOrderId: id, orderStatus: 'CANCELLED' };
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => send(PUSH, push, i % 2)),
    );
    expect(answers.map(code)).toEqual(Array.from({ length: 20 }, () => 'SUCCESS'));
    const view = await get(id);
    expect(view.pushes).toHaveLength(1);
    expect(view.history.filter((h) => h.status === 'CANCELLED')).toHaveLength(1);
    const events = await readStream(
      nc,
      STREAMS.orders,
      EVENT_SUBJECTS.order('channel-changed', orderSubjectToken(id)),
    );
    expect(events).toHaveLength(1);
  });

  it('pushes still all answer S while other writers keep winning the order’s compare-and-set', async () => {
    const id = 'race-hammer-1';
    expect(code(await send(CREATE, dstoreDeliveryOrder(id)))).toBe('SUCCESS');
    // Stand-ins for busy replicas: rewrite the order unchanged, as fast as they can, each write a compare-and-set,
    // so they never undo a push but keep moving the revision under every other writer.
    const kv = await new Kvm(nc).open(ORDERS_BUCKET);
    const key = orderSubjectToken(id);
    let hammering = true;
    let wins = 0;
    const hammer = async () => {
      while (hammering) {
        const entry = await kv.get(key);
        if (!entry) continue;
        try {
          await kv.update(key, entry.value, entry.revision);
          wins++;
        } catch {
          // Lost to a push or the other hammer: fine.
        }
      }
    };
    const hammers = [hammer(), hammer(), hammer()];
    let before = 0;
    try {
      // In full swing before the first push, so every push meets a moving revision however fast it is.
      await waitFor(() => wins >= 20, { what: 'the other writers winning' });
      before = wins;
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          send(PUSH, dstoreDeliveryPush(id, `hammer-${i}`, `STEP_${i}`), i % 2),
        ),
      );
      expect(answers.map(code)).toEqual(Array.from({ length: 20 }, () => 'SUCCESS'));
    } finally {
      hammering = false;
      await Promise.all(hammers);
    }
    expect(wins).toBeGreaterThan(before);
    expect((await get(id)).pushes).toHaveLength(20);
  });
});

describe('push idempotency for the order’s whole life (issue 21, defect 6)', () => {
  it('an old requestId reused with another status, after 30 later pushes, is refused on either replica', async () => {
    const id = 'lifetime-1';
    expect(code(await send(CREATE, dstoreDeliveryOrder(id)))).toBe('SUCCESS');
    expect(code(await send(PUSH, dstoreDeliveryPush(id, 'first', 'ASSIGNED')))).toBe('SUCCESS');
    for (let i = 0; i < 30; i++)
      expect(code(await send(PUSH, dstoreDeliveryPush(id, `later-${i}`, `S${i}`), i % 2))).toBe(
        'SUCCESS',
      );
    for (const replica of [0, 1]) {
      const reused = await send(
        PUSH,
        { requestId: 'first', requestOrderId: id, orderStatus: 'CANCELLED' },
        replica,
      );
      expect(code(reused)).toBe('PROCESS_FAIL');
      expect(reused.body.result.resultMessage).toMatch(
        /first was already used for a different change/,
      );
    }
    // The same push again is the same answer, and changes nothing.
    expect(code(await send(PUSH, dstoreDeliveryPush(id, 'first', 'ASSIGNED'), 1))).toBe('SUCCESS');
    const view = await get(id);
    expect(view.status).toBe('ORDER_SUCCESS');
    expect(view.deliveryStatus).toBe('S29');
    expect(view.pushes).toHaveLength(31);
  });
});
