import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ANTOM_PATHS,
  signRequest,
  signResponse,
  verifyRequest,
  verifyResponse,
} from '@tillbus/protocols-antom';
import { dstoreResult } from '@tillbus/result-codes';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDStoreSimulator, type DStoreSimulator, type ReceivedNotification } from './simulator';

const dstore = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pos = generateKeyPairSync('rsa', { modulusLength: 2048 });
const NOTIFY = ANTOM_PATHS.NOTIFY_ORDER_CHANGE;

/** A minimal POS edge: verifies D-Store's signature and answers inquiries from a map. */
const posSeen: Array<{ path: string; body: string; signature: string }> = [];
const posOrders = new Map<string, string>();
let posServer: Server;
let posUrl: string;
let sim: DStoreSimulator;

beforeAll(async () => {
  posServer = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const raw = Buffer.concat(chunks);
      const verified = await verifyRequest({
        path: req.url!,
        headers: req.headers,
        rawBody: raw,
        publicKey: dstore.publicKey,
        now: Date.now(),
        expectedClientId: 'DSTORE-1',
      });
      posSeen.push({
        path: req.url!,
        body: raw.toString(),
        signature: String(req.headers.signature),
      });
      const request = JSON.parse(raw.toString() || '{}') as { requestOrderId?: string };
      const body = !verified.ok
        ? { result: dstoreResult('INVALID_SIGNATURE') }
        : req.url === ANTOM_PATHS.INQUIRE_ORDER_DETAIL
          ? {
              result: dstoreResult('SUCCESS'),
              posOrderId: 'tb-1',
              orderStatus: posOrders.get(request.requestOrderId ?? '') ?? 'ORDER_SUCCESS',
            }
          : { result: dstoreResult('SUCCESS') };
      const bytes = Buffer.from(JSON.stringify(body));
      const headers = signResponse({
        path: req.url!,
        clientId: 'DSTORE-1',
        body: bytes,
        privateKey: pos.privateKey,
      });
      res.writeHead(200, headers);
      res.end(bytes);
    });
  });
  await new Promise<void>((r) => posServer.listen(0, '127.0.0.1', () => r()));
  posUrl = `http://127.0.0.1:${(posServer.address() as AddressInfo).port}`;
  sim = await startDStoreSimulator({
    posUrl,
    clientId: 'DSTORE-1',
    posClientId: 'POS-1',
    privateKey: dstore.privateKey,
    posPublicKey: pos.publicKey,
  });
});

afterAll(async () => {
  await sim?.close();
  await new Promise((r) => posServer.close(r));
});

afterEach(() => {
  sim.reset();
  posSeen.length = 0;
});

let counter = 0;
function notification(overrides: Record<string, unknown> = {}) {
  counter++;
  return {
    requestId: `ntf-${counter}`,
    requestOrderId: `order-${counter}`,
    orderStatus: 'ACCEPTED',
    ...overrides,
  };
}

/** What the POS sends: a signed notifyOrderChange. */
async function notify(
  body: object,
  options: { clientId?: string; key?: typeof pos.privateKey } = {},
) {
  const raw = JSON.stringify(body);
  const headers = signRequest({
    path: NOTIFY,
    clientId: options.clientId ?? 'POS-1',
    body: raw,
    privateKey: options.key ?? pos.privateKey,
  });
  const response = await fetch(`${sim.url}${NOTIFY}`, { method: 'POST', headers, body: raw });
  const answer = Buffer.from(await response.arrayBuffer());
  const verified = await verifyResponse({
    path: NOTIFY,
    headers: response.headers,
    rawBody: answer,
    publicKey: dstore.publicKey,
    now: Date.now(),
    clientId: options.clientId ?? 'POS-1',
  });
  return {
    status: response.status,
    raw: JSON.parse(answer.toString()) as Record<string, unknown>,
    result: (
      JSON.parse(answer.toString()) as { result: { resultStatus: string; resultCode: string } }
    ).result,
    verified: verified.ok,
  };
}

describe('receiving notifyOrderChange', () => {
  it('verifies, answers S signed, and applies each requestId once', async () => {
    const body = notification();
    const first = await notify(body);
    const again = await notify(body);
    expect(first).toMatchObject({ status: 200, verified: true, result: { resultStatus: 'S' } });
    expect(again.result.resultStatus).toBe('S');
    expect(sim.counters).toMatchObject({ received: 2, verified: 2, effects: 1, duplicates: 1 });
    expect([...sim.effects.values()]).toEqual([
      expect.objectContaining({ requestId: body.requestId, orderStatus: 'ACCEPTED' }),
    ]);
    expect(sim.received.map((r) => r.duplicate)).toEqual([false, true]);
    expect(sim.belief(body.requestOrderId)).toBe('ACCEPTED');
  });

  it('answers by script: U, F, F:<CODE>, then the default', async () => {
    sim.setFaults({ script: ['U', 'F', 'F:REQUEST_TRAFFIC_EXCEED_LIMIT'] });
    const body = notification();
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push((await notify(body)).result.resultCode);
    expect(answers).toEqual([
      'UNKNOWN_EXCEPTION',
      'PROCESS_FAIL',
      'REQUEST_TRAFFIC_EXCEED_LIMIT',
      'SUCCESS',
    ]);
    expect(sim.counters).toMatchObject({ answeredU: 1, answeredF: 2, effects: 1 });
  });

  it('drops a request without an answer', async () => {
    sim.setFaults({ script: ['DROP'] });
    await expect(notify(notification())).rejects.toThrow();
    expect(sim.counters).toMatchObject({ dropped: 1, effects: 0 });
  });

  it('refuses a bad signature and a foreign Client-Id', async () => {
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    expect((await notify(notification(), { key: stranger })).result.resultCode).toBe(
      'INVALID_SIGNATURE',
    );
    expect((await notify(notification(), { clientId: 'OTHER' })).result.resultCode).toBe(
      'ACCESS_DENIED',
    );
    expect(sim.received.map((r: ReceivedNotification) => r.reason)).toEqual([
      'SIGNATURE_MISMATCH',
      'CLIENT_ID_MISMATCH',
    ]);
    expect(sim.counters.effects).toBe(0);
  });

  it('refuses a body with an unknown field', async () => {
    const answer = await notify({ ...notification(), extra: 1 });
    expect(answer.result.resultCode).toBe('PARAM_ILLEGAL');
  });

  it('holds answers until released, with the effect already applied', async () => {
    sim.setFaults({ hold: true });
    const pending = notify(notification());
    await expect.poll(() => sim.counters.held).toBe(1);
    expect(sim.counters.effects).toBe(1);
    expect(sim.received[0].answer).toBe('S (held)');
    expect(sim.release()).toBe(1);
    expect((await pending).result.resultStatus).toBe('S');
  });

  it('signs answers with a stranger key when asked to', async () => {
    sim.setFaults({ badSignature: true });
    expect((await notify(notification())).verified).toBe(false);
  });

  it('answers INVALID_API elsewhere and 405 for another method', async () => {
    const other = await fetch(`${sim.url}/v2/pos/other`, { method: 'POST', body: '{}' });
    expect(((await other.json()) as { result: { resultCode: string } }).result.resultCode).toBe(
      'INVALID_API',
    );
    const get = await fetch(`${sim.url}${NOTIFY}`);
    expect(get.status).toBe(405);
  });
});

describe('calling the POS', () => {
  it('signs every call afresh, sends duplicates, and verifies the answers', async () => {
    const answer = await sim.createOrder({ requestOrderId: 'o-1' }, { duplicates: 2 });
    expect(answer.signature).toEqual({ ok: true });
    expect(answer.result?.resultCode).toBe('SUCCESS');
    expect(answer.copies).toHaveLength(2);
    expect(posSeen).toHaveLength(3);
    expect(new Set(posSeen.map((s) => s.body)).size).toBe(1);
    expect(new Set(posSeen.map((s) => s.signature)).size).toBe(3);
  });

  it('can tamper with a call', async () => {
    const answer = await sim.inquireOrderDetail('o-1', { sendBody: '{"requestOrderId":"o-2"}' });
    expect(answer.result?.resultCode).toBe('INVALID_SIGNATURE');
  });

  it('runs the lost-notification scenario', async () => {
    posOrders.set('lost-1', 'READY');
    const report = sim.lostNotification('lost-1', 5000);
    await expect(
      notify({ requestId: 'n-lost', requestOrderId: 'lost-1', orderStatus: 'READY' }),
    ).rejects.toThrow();
    const result = await report;
    expect(result.dropped).toMatchObject({ requestOrderId: 'lost-1', orderStatus: 'READY' });
    expect(result.consistent).toBe(true);
    expect(sim.effects.size).toBe(0);
  });
});

describe('run-time control over HTTP', () => {
  it('changes faults, reports state and refuses an unknown fault', async () => {
    const set = await fetch(`${sim.url}/_sim/faults`, {
      method: 'POST',
      body: JSON.stringify({ script: ['U'], slowMs: 5 }),
    });
    expect(await set.json()).toMatchObject({ script: ['U'], slowMs: 5 });
    expect((await notify(notification())).result.resultStatus).toBe('U');
    const state = (await (await fetch(`${sim.url}/_sim/state`)).json()) as {
      counters: { answeredU: number };
    };
    expect(state.counters.answeredU).toBe(1);
    const bad = await fetch(`${sim.url}/_sim/faults`, {
      method: 'POST',
      body: JSON.stringify({ explode: true }),
    });
    expect(bad.status).toBe(400);
    const badAnswer = await fetch(`${sim.url}/_sim/faults`, {
      method: 'POST',
      body: JSON.stringify({ script: ['X:NOPE'] }),
    });
    expect(await badAnswer.json()).toMatchObject({
      error: expect.stringMatching(/unknown answer/),
    });
  });

  it('makes calls to the POS on request', async () => {
    const response = await fetch(`${sim.url}/_sim/inquireOrderDetail`, {
      method: 'POST',
      body: JSON.stringify({ requestOrderId: 'x' }),
    });
    expect(await response.json()).toMatchObject({
      result: { resultCode: 'SUCCESS' },
      signature: { ok: true },
    });
  });
});

describe('full documented messages, and fields never seen', () => {
  async function control(path: string, body: object) {
    const response = await fetch(`${sim.url}/_sim/${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }
  const lastSent = () => JSON.parse(posSeen.at(-1)!.body) as Record<string, unknown>;

  it('sends a DELIVERY order with every documented field, the customer and the address', async () => {
    const answer = await control('order', { requestOrderId: 'full-1' });
    expect(answer.body).toMatchObject({ result: { resultStatus: 'S' }, signature: { ok: true } });
    expect(lastSent()).toMatchObject({
      requestOrderId: 'full-1',
      serviceType: 'DELIVERY',
      expectFulfillmentTime: expect.any(String),
      customer: { deliveryAddress: { postCode: expect.any(String) } },
      orderAmount: { value: expect.any(Number), currency: expect.any(String) },
    });
    await control('order', { requestOrderId: 'pickup-1', serviceType: 'PICKUP' });
    expect(lastSent()).toMatchObject({ serviceType: 'PICKUP' });
    expect(lastSent()).not.toHaveProperty('customer');
  });

  it('pushes only a delivery status, or only item edits, each with a requestId', async () => {
    await control('push-delivery', { requestOrderId: 'full-1', deliveryStatus: 'DELIVERED' });
    expect(lastSent()).toEqual({
      requestId: expect.stringMatching(/^sim-push-/),
      requestOrderId: 'full-1',
      deliveryStatus: 'DELIVERED',
    });
    await control('push-items', { requestOrderId: 'full-1', requestId: 'edit-9' });
    expect(Object.keys(lastSent()).sort()).toEqual(
      ['refundInfo', 'requestId', 'requestOrderId', 'updatedOrderProducts'].sort(),
    );
    expect((await control('push-items', {})).status).toBe(400);
  });

  it('with unseenFields, every call and every answer carries fields never seen, the same on every copy', async () => {
    sim.setFaults({ unseenFields: true, duplicates: 1 });
    await control('order', { requestOrderId: 'unseen-1' });
    const [first, copy] = posSeen
      .slice(-2)
      .map((s) => JSON.parse(s.body) as Record<string, unknown>);
    expect(first).toEqual(copy);
    expect(first).toMatchObject({
      requestOrderId: 'unseen-1',
      simUnseenFlag: true,
      simUnseenObject: { version: 2 },
      customer: { simUnseenNested: 'kept?' },
      orderAmount: { simUnseenNested: 'kept?' },
    });
    const answer = await notify(notification({ requestId: 'unseen-n1' }));
    expect(answer.result.resultStatus).toBe('S');
    expect(answer.verified).toBe(true);
    expect(answer.raw).toMatchObject({ simUnseenFlag: true });
  });
});

describe('a strict D-Store: notifyOrderChange against the documented table, and what the buyer sees', () => {
  it.each([
    ['posOrderId', { posOrderId: 'tb-1' }],
    ['an unknown field', { orderReadyTimeGuess: '2026-12-07T12:00:00Z' }],
  ])('refuses %s with PARAM_ILLEGAL', async (_what, extra) => {
    const answer = await notify(notification(extra));
    expect(answer.result).toMatchObject({ resultStatus: 'F', resultCode: 'PARAM_ILLEGAL' });
    expect(sim.counters.effects).toBe(0);
  });

  it('keeps the buyer view: pickup code, status, delivery status, refunds; refuses an over-refund', async () => {
    const id = 'buyer-1';
    await fetch(`${sim.url}/_sim/order`, {
      method: 'POST',
      body: JSON.stringify({ requestOrderId: id }),
    });
    const send = (body: Record<string, unknown>) =>
      notify(notification({ requestOrderId: id, orderStatus: undefined, ...body }));
    expect((await send({ orderStatus: 'ACCEPTED' })).result.resultStatus).toBe('S');
    expect((await send({ shortOrderNumber: 'A-042' })).result.resultStatus).toBe('S');
    expect((await send({ deliveryStatus: 'OUT_FOR_DELIVERY' })).result.resultStatus).toBe('S');
    expect((await send({ orderReadyTime: '2026-12-07T12:45:00+08:00' })).result.resultStatus).toBe(
      'S',
    );
    expect(
      (await send({ refundAmount: { value: 450, currency: 'SGD' } })).result.resultStatus,
    ).toBe('S');
    const over = await send({ refundAmount: { value: 1000, currency: 'SGD' } });
    expect(over.result).toMatchObject({ resultStatus: 'F', resultCode: 'PROCESS_FAIL' });
    expect(sim.received.at(-1)!.reason).toMatch(/exceeds what is left to refund \(830\)/);
    const view = (await (await fetch(`${sim.url}/_sim/buyer/${id}`)).json()) as object;
    expect(view).toEqual({
      orderStatus: 'ACCEPTED',
      shortOrderNumber: 'A-042',
      deliveryStatus: 'OUT_FOR_DELIVERY',
      readyTime: '2026-12-07T12:45:00+08:00',
      paid: { value: 1280, currency: 'SGD' },
      refunded: { value: 450, currency: 'SGD' },
      refunds: 1,
    });
    expect((await fetch(`${sim.url}/_sim/buyer/nope`)).status).toBe(404);
  });
});
