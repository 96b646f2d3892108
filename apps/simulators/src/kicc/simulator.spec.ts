import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  KICC_BRIDGE_STREAM,
  KICC_BRIDGE_SUBJECT_WILDCARDS,
  kiccBridgeSubject,
  parseBridgeMessage,
  type BridgeAck,
  type BridgeEvent,
  type BridgeHeartbeat,
  type BridgeResult,
} from '@tillbus/protocols-kicc';
import {
  KICC_BUSINESS_FAILURE_CODES,
  KICC_COMMAND_FAILURE_CODES,
  type KiccCommandName,
} from '@tillbus/result-codes';
import { startTcpProxy, startTestNatsServer, waitFor, type TestNatsServer } from '@tillbus/testing';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BRIDGE_MISBEHAVIOUR_LIST } from './misbehaviour';
import { amountFor, FAILURE_AMOUNTS } from './scenarios';
import {
  KICC_SIM_CONTROL_SUBJECT,
  startKiccBridgeSimulator,
  type KiccSimulator,
} from './simulator';

let nats: TestNatsServer;
let nc: NatsConnection;
let sim: KiccSimulator | undefined;
const traffic: (BridgeEvent | BridgeResult)[] = [];
const heartbeats: BridgeHeartbeat[] = [];

beforeAll(async () => {
  nats = await startTestNatsServer();
  nc = await connect({ servers: nats.url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({
    name: KICC_BRIDGE_STREAM,
    subjects: [KICC_BRIDGE_SUBJECT_WILDCARDS.events],
    duplicate_window: 120_000_000_000,
  });
  nc.subscribe(KICC_BRIDGE_SUBJECT_WILDCARDS.events, {
    callback: (_e, msg) => {
      traffic.push(
        parseBridgeMessage(msg.data, { subject: msg.subject }) as BridgeEvent | BridgeResult,
      );
    },
  });
  nc.subscribe(KICC_BRIDGE_SUBJECT_WILDCARDS.heartbeat, {
    callback: (_e, msg) => {
      heartbeats.push(parseBridgeMessage(msg.data) as BridgeHeartbeat);
    },
  });
});
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});
afterAll(async () => {
  await nc.close();
  await nats.dispose();
});

async function start(options: Partial<Parameters<typeof startKiccBridgeSimulator>[0]> = {}) {
  sim = await startKiccBridgeSimulator({
    natsUrl: nats.url,
    bridges: [{ bridgeId: 'bridge-1', devices: ['edc-1', 'edc-2'] }],
    timing: 'fast',
    heartbeatIntervalMs: 1000,
    ...options,
  });
  return sim;
}

let counter = 0;
const newId = (label: string) => `${label}-${Date.now()}-${counter++}`;

function purchaseParams(requestId: string, value = '104') {
  return {
    requestId,
    paymentAmount: { value, currency: 'KRW' },
    tipAmount: { value: '0', currency: 'KRW' },
    creditPayPlan: { installmentNum: '0' },
    acquirerInfo: { acquirerTerminalId: '0788888', acquirerRegistrationNo: '0216001234' },
  };
}

async function send(
  deviceId: string,
  requestId: string,
  commandName: KiccCommandName,
  commandRequestParams: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<BridgeAck> {
  const reply = await nc.request(
    kiccBridgeSubject('command', deviceId),
    JSON.stringify({
      v: 1,
      type: 'command',
      deviceId,
      requestId,
      commandName,
      sentAt: Date.now(),
      body: { commandRequestParams, notAfter: Date.now() + 10_000, ...extra },
    }),
    { timeout: 2000 },
  );
  return parseBridgeMessage(reply.data) as BridgeAck;
}

const of = (requestId: string) => traffic.filter((m) => m.requestId === requestId);
const resultOf = (requestId: string) =>
  waitFor(() => of(requestId).find((m): m is BridgeResult => m.type === 'result'), {
    what: `the result of ${requestId}`,
  });
const codes = (requestId: string) =>
  of(requestId).map((m) => (m.type === 'event' ? m.body.code : `result:${m.body.callback}`));

describe('KICC bridge simulator', () => {
  it('runs a Purchase with realistic events in order, numbered by seq, and beats its heart', async () => {
    await start();
    const id = newId('p');
    expect((await send('edc-1', id, 'Purchase', purchaseParams(id))).body.status).toBe('accepted');
    const result = await resultOf(id);
    expect(codes(id)).toEqual([
      'READY',
      'CARD_DETECTED',
      'CARD_READ_COMPLETED',
      'START_TRANSACTION',
      'result:onSuccess',
    ]);
    expect(of(id).map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(result.body.responseData).toMatchObject({
      requestId: id,
      result: { resultCode: 'SUCCESS' },
      paymentResultInfo: { cardBin: '52364979' },
    });
    expect(sim!.counters.executed.Purchase).toBe(1);
    await waitFor(() => heartbeats.some((h) => h.bridgeId === 'bridge-1'), { what: 'a heartbeat' });
    expect(
      heartbeats.find((h) => h.bridgeId === 'bridge-1')!.body.devices.map((d) => d.deviceId),
    ).toEqual(['edc-1', 'edc-2']);
  });

  it('asks for a signature above 50,000 KRW only', async () => {
    await start();
    const [large, limit] = [newId('large'), newId('limit')];
    await send('edc-1', large, 'Purchase', purchaseParams(large, '50001'));
    await send('edc-2', limit, 'Purchase', purchaseParams(limit, '50000'));
    await resultOf(large);
    await resultOf(limit);
    expect(codes(large)).toContain('PENDING_SIGNATURE');
    expect(codes(limit)).not.toContain('PENDING_SIGNATURE');
  });

  it.each([...KICC_BUSINESS_FAILURE_CODES, ...KICC_COMMAND_FAILURE_CODES])(
    'produces %s by amount',
    async (code) => {
      await start();
      const id = newId('f');
      await send('edc-1', id, 'Purchase', purchaseParams(id, amountFor(code)));
      const result = await resultOf(id);
      expect(result.body.failure?.code).toBe(code);
      expect(result.body.callback).toBe(FAILURE_AMOUNTS[amountFor(code)].callback);
    },
  );

  it('answers busy, duplicate (replaying the stored traffic) and not_running', async () => {
    await start({ faults: { 'edc-1': { holdAt: 'READY' } } });
    const first = newId('first');
    await send('edc-1', first, 'Purchase', purchaseParams(first));
    await waitFor(() => codes(first).includes('READY'));
    const second = newId('second');
    expect((await send('edc-1', second, 'Purchase', purchaseParams(second))).body).toEqual({
      status: 'busy',
      runningRequestId: first,
    });
    expect(
      (await send('edc-1', newId('c'), 'CommandCancel', {}, { targetRequestId: 'other' })).body,
    ).toEqual({
      status: 'not_running',
      runningRequestId: first,
    });
    sim!.release('edc-1');
    await resultOf(first);
    const before = of(first).length;
    expect((await send('edc-1', first, 'Purchase', purchaseParams(first))).body.status).toBe(
      'duplicate',
    );
    await waitFor(() => of(first).length === before * 2, { what: 'the replay' });
    expect(sim!.counters.executed.Purchase).toBe(1);
  });

  it('dedupes by device and requestId: one requestId on two devices runs on each, and the stream keeps both', async () => {
    await start();
    const id = newId('shared');
    expect((await send('edc-1', id, 'Purchase', purchaseParams(id))).body.status).toBe('accepted');
    expect((await send('edc-2', id, 'Purchase', purchaseParams(id))).body.status).toBe('accepted');
    const on = (deviceId: string) => of(id).filter((m) => m.deviceId === deviceId);
    await waitFor(() => ['edc-1', 'edc-2'].every((d) => on(d).some((m) => m.type === 'result')), {
      what: 'both results',
    });
    expect(sim!.executed().filter((c) => c.requestId === id)).toHaveLength(2);
    await sim!.flushed();
    // Nats-Msg-Id names the device: neither device's events are dropped as the other's duplicates
    const jsm = await jetstreamManager(nc);
    for (const deviceId of ['edc-1', 'edc-2']) {
      const last = await jsm.streams.getMessage(KICC_BRIDGE_STREAM, {
        last_by_subj: kiccBridgeSubject('events', deviceId),
      });
      expect(parseBridgeMessage(last!.data)).toMatchObject({
        type: 'result',
        deviceId,
        requestId: id,
      });
    }
  });

  it('cancels before the card is read and refuses with CommandInvalid after', async () => {
    await start({
      faults: { 'edc-1': { holdAt: 'CARD_DETECTED' }, 'edc-2': { holdAt: 'CARD_READ_COMPLETED' } },
    });
    const [early, late] = [newId('early'), newId('late')];
    await send('edc-1', early, 'Purchase', purchaseParams(early));
    await send('edc-2', late, 'Purchase', purchaseParams(late));
    await waitFor(
      () => codes(early).includes('CARD_DETECTED') && codes(late).includes('CARD_READ_COMPLETED'),
    );
    const [cancelEarly, cancelLate] = [newId('ce'), newId('cl')];
    await send('edc-1', cancelEarly, 'CommandCancel', {}, { targetRequestId: early });
    await send('edc-2', cancelLate, 'CommandCancel', {}, { targetRequestId: late });
    expect((await resultOf(cancelEarly)).body.callback).toBe('onSuccess');
    expect(codes(early)).toContain('CANCELLING');
    expect((await resultOf(cancelLate)).body.failure?.code).toBe('CommandInvalid');
    expect(sim!.deviceState('edc-1').running).toBeNull();
    sim!.release('edc-2');
    expect((await resultOf(late)).body.callback).toBe('onSuccess');
  });

  it('loses a result but keeps the transaction, which GetLastTransaction reports with or without requestId', async () => {
    await start({ faults: { 'edc-1': { dropResults: 1 } } });
    const id = newId('lost');
    await send('edc-1', id, 'Purchase', purchaseParams(id));
    await waitFor(() => sim!.deviceState('edc-1').lastTransactionRequestId === id);
    await sim!.flushed();
    expect(codes(id)).toEqual([
      'READY',
      'CARD_DETECTED',
      'CARD_READ_COMPLETED',
      'START_TRANSACTION',
    ]);
    const glt = newId('glt');
    await send('edc-1', glt, 'GetLastTransaction', {});
    const answer = await resultOf(glt);
    expect(answer.body.responseData).toMatchObject({
      responseCommand: 'Purchase',
      paymentAmount: { value: '104' },
      result: { resultCode: 'SUCCESS' },
    });
    expect(answer.body.responseData).not.toHaveProperty('requestId');
    await sim!.close();
    await start({ lastTransactionRequestId: true });
    const id2 = newId('paid');
    await send('edc-1', id2, 'Purchase', purchaseParams(id2));
    await resultOf(id2);
    const glt2 = newId('glt');
    await send('edc-1', glt2, 'GetLastTransaction', {});
    expect((await resultOf(glt2)).body.responseData).toMatchObject({ requestId: id2 });
    expect(sim!.counters.executed).toMatchObject({ Purchase: 1, GetLastTransaction: 1 });
  });

  it('keeps results in its outbox while offline and publishes them when back; refuses expired and not-ready commands', async () => {
    await start({
      faults: { 'edc-1': { holdAt: 'START_TRANSACTION' }, 'edc-2': { init: 'INIT_FAILED' } },
    });
    const id = newId('off');
    await send('edc-1', id, 'Purchase', purchaseParams(id));
    await waitFor(() => codes(id).includes('START_TRANSACTION'));
    await sim!.setBridgeOnline('bridge-1', false);
    await expect(send('edc-1', newId('x'), 'Purchase', purchaseParams('x'))).rejects.toThrow();
    sim!.release('edc-1');
    await waitFor(() => sim!.deviceState('edc-1').running === null);
    expect(of(id).some((m) => m.type === 'result')).toBe(false);
    await sim!.setBridgeOnline('bridge-1', true);
    expect((await resultOf(id)).body.callback).toBe('onSuccess');
    const expired = await nc.request(
      kiccBridgeSubject('command', 'edc-1'),
      JSON.stringify({
        v: 1,
        type: 'command',
        deviceId: 'edc-1',
        requestId: 'too-late',
        commandName: 'GetLastTransaction',
        sentAt: Date.now(),
        body: { commandRequestParams: {}, notAfter: Date.now() - 1 },
      }),
    );
    expect((parseBridgeMessage(expired.data) as BridgeAck).body.status).toBe('expired');
    expect((await send('edc-2', newId('nr'), 'GetLastTransaction', {})).body).toEqual({
      status: 'not_ready',
      detail: 'INIT_FAILED',
    });
  });

  it('beats at once when its connection is back (§5), not at its next interval', async () => {
    const proxy = await startTcpProxy(nats.url);
    try {
      // earlier tests' bridge-1 beat too: this simulator's first beat (seq 1) must be in before the cut
      const earlier = heartbeats.length;
      await start({ natsUrl: proxy.url, heartbeatIntervalMs: 60_000 });
      await waitFor(() => heartbeats.slice(earlier).some((h) => h.bridgeId === 'bridge-1'));
      const before = heartbeats.length;
      await proxy.cut();
      await new Promise((resolve) => setTimeout(resolve, 500));
      await proxy.restore();
      const beat = await waitFor(
        () => heartbeats.slice(before).find((h) => h.bridgeId === 'bridge-1'),
        {
          timeoutMs: 5_000,
          what: 'a heartbeat after the reconnect',
        },
      );
      expect(beat.seq).toBeGreaterThan(1);
    } finally {
      await sim?.close();
      sim = undefined;
      await proxy.close();
    }
  });

  it('runs a scripted outcome, with notices, before the amount table', async () => {
    await start();
    sim!.script('edc-1', {
      outcome: { callback: 'onBusinessFailed', code: 'USER_AMOUNT_EXCEED_LIMIT' },
      notices: ['CARD_TRY_AGAIN', 'FALLBACK_MAGCARDREADER'],
    });
    const id = newId('scripted');
    await send('edc-1', id, 'Purchase', purchaseParams(id, '951'));
    expect((await resultOf(id)).body.failure?.code).toBe('USER_AMOUNT_EXCEED_LIMIT');
    expect(codes(id)).toEqual([
      'READY',
      'CARD_TRY_AGAIN',
      'FALLBACK_MAGCARDREADER',
      'CARD_DETECTED',
      'CARD_READ_COMPLETED',
      'START_TRANSACTION',
      'result:onBusinessFailed',
    ]);
  });

  it('is controlled over the bus', async () => {
    await start({ faults: { 'edc-1': { holdAt: 'READY' } } });
    const id = newId('ctl');
    await send('edc-1', id, 'Purchase', purchaseParams(id));
    await waitFor(() => codes(id).includes('READY'));
    const control = async (request: unknown) =>
      JSON.parse(
        Buffer.from(
          (await nc.request(KICC_SIM_CONTROL_SUBJECT, JSON.stringify(request))).data,
        ).toString(),
      ) as {
        ok: boolean;
      } & Record<string, unknown>;
    expect(await control({ op: 'device', deviceId: 'edc-1' })).toMatchObject({
      running: { requestId: id, phase: 'READY' },
    });
    await control({ op: 'restartDevice', deviceId: 'edc-1', charged: true });
    const result = await resultOf(id);
    expect(result.body.failure?.code).toBe('CommandResponseTimeout');
    expect(codes(id)).toContain('DEVICE_INITIALIZE');
    expect(await control({ op: 'device', deviceId: 'edc-1' })).toMatchObject({
      running: null,
      lastTransactionRequestId: id,
    });
    expect(await control({ op: 'stats' })).toMatchObject({
      ok: true,
      counters: { executed: { Purchase: 1 } },
    });
    expect(await control({ op: 'nope' })).toMatchObject({ ok: false });
    expect(await control({ op: 'release', deviceId: 'unknown' })).toMatchObject({
      ok: false,
      error: 'unknown device unknown',
    });
    expect(
      await control({ op: 'faults', deviceId: 'edc-1', faults: { misbehave: ['rude'] } }),
    ).toMatchObject({ ok: false, error: expect.stringMatching(/^unknown misbehaviour rude/) });
    expect(
      await control({ op: 'faults', deviceId: 'edc-1', faults: { misbehave: ['late-ack'] } }),
    ).toEqual({ ok: true });
  });
});

describe('README', () => {
  it('documents every misbehaving mode', () => {
    const readme = readFileSync(join(__dirname, 'README.md'), 'utf8');
    for (const mode of BRIDGE_MISBEHAVIOUR_LIST) expect(readme).toContain(`| \`${mode}\``);
  });
});

describe('README', () => {
  it('documents the amount of every failure code', () => {
    const readme = readFileSync(join(__dirname, 'README.md'), 'utf8');
    for (const code of [...KICC_BUSINESS_FAILURE_CODES, ...KICC_COMMAND_FAILURE_CODES]) {
      expect(readme).toContain(`${amountFor(code)} ${code}`);
    }
  });
});
