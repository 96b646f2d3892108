import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  KICC_BRIDGE_STREAM,
  KICC_BRIDGE_SUBJECT_WILDCARDS,
  kiccBridgeSubject,
  parseBridgeMessage,
  type BridgeMessage,
  type BridgeResult,
} from '@tillbus/protocols-kicc';
import { startTestNatsServer, waitFor, type TestNatsServer } from '@tillbus/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startKiccBridgeSimulator, type KiccSimulator } from './simulator';

let nats: TestNatsServer;
let nc: NatsConnection;
let sim: KiccSimulator | undefined;
const published: BridgeMessage[] = [];
const heartbeats: BridgeMessage[] = [];

beforeAll(async () => {
  nats = await startTestNatsServer();
  nc = await connect({ servers: nats.url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({
    name: KICC_BRIDGE_STREAM,
    subjects: [KICC_BRIDGE_SUBJECT_WILDCARDS.events],
  });
  nc.subscribe(KICC_BRIDGE_SUBJECT_WILDCARDS.events, {
    callback: (_e, msg) => void published.push(parseBridgeMessage(msg.data)),
  });
  nc.subscribe(KICC_BRIDGE_SUBJECT_WILDCARDS.heartbeat, {
    callback: (_e, msg) => void heartbeats.push(parseBridgeMessage(msg.data)),
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

const start = async (options: Partial<Parameters<typeof startKiccBridgeSimulator>[0]> = {}) =>
  (sim = await startKiccBridgeSimulator({
    natsUrl: nats.url,
    bridges: [{ bridgeId: 'jbridge', devices: ['jedc-1'] }],
    timing: 'fast',
    heartbeatIntervalMs: 1000,
    ...options,
  }));

let counter = 0;
const newId = (label: string) => `${label}-${Date.now()}-${counter++}`;

function command(requestId: string, commandName = 'Purchase', v = 1) {
  const params =
    commandName === 'Purchase'
      ? {
          requestId,
          paymentAmount: { value: '104', currency: 'KRW' },
          tipAmount: { value: '0', currency: 'KRW' },
          creditPayPlan: { installmentNum: '0' },
          acquirerInfo: { acquirerTerminalId: '0788888', acquirerRegistrationNo: '0216001234' },
        }
      : {};
  return JSON.stringify({
    v,
    type: 'command',
    deviceId: 'jedc-1',
    requestId,
    commandName,
    sentAt: Date.now(),
    body: { commandRequestParams: params, notAfter: Date.now() + 10_000 },
  });
}

async function ack(requestId: string, commandName = 'Purchase', v = 1) {
  const reply = await nc.request(
    kiccBridgeSubject('command', 'jedc-1'),
    command(requestId, commandName, v),
    {
      timeout: 1000,
    },
  );
  return parseBridgeMessage(reply.data) as Extract<BridgeMessage, { type: 'ack' }>;
}

async function journal(requestId: string, close = true) {
  const reply = await nc.request(
    kiccBridgeSubject('journal', 'jedc-1'),
    JSON.stringify({
      v: 2,
      type: 'journal_query',
      deviceId: 'jedc-1',
      requestId,
      commandName: 'Purchase',
      sentAt: Date.now(),
      body: { close },
    }),
    { timeout: 1000 },
  );
  return parseBridgeMessage(reply.data, { subject: reply.subject }) as Extract<
    BridgeMessage,
    { type: 'journal' }
  >;
}

const resultOf = (requestId: string) =>
  waitFor(() =>
    published.find((m): m is BridgeResult => m.type === 'result' && m.requestId === requestId),
  );

describe('the simulated bridge journal (protocol v2)', () => {
  it('beats at once when a journal query reaches it after a quiet second, its heartbeats lost meanwhile (§5)', async () => {
    const earlier = heartbeats.length;
    await start({ heartbeatIntervalMs: 60_000 });
    await waitFor(() => heartbeats.slice(earlier).some((h) => h.type === 'heartbeat'));
    sim!.setHeartbeatsLost('jbridge', true);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    sim!.setHeartbeatsLost('jbridge', false);
    const before = heartbeats.length;
    // the link is back and the next beat is a minute away: the query is the first round trip
    await journal(newId('probe'), false);
    const beat = await waitFor(
      () =>
        heartbeats.slice(before).find((h) => h.type === 'heartbeat' && h.bridgeId === 'jbridge'),
      { timeoutMs: 2_000, what: 'a heartbeat right after the query' },
    );
    expect(beat).toBeDefined();
  });

  it('does not beat on every query: at most once a second', async () => {
    const earlier = heartbeats.length;
    await start({ heartbeatIntervalMs: 60_000 });
    await waitFor(() => heartbeats.slice(earlier).some((h) => h.type === 'heartbeat'));
    const before = heartbeats.length;
    for (let i = 0; i < 5; i++) await journal(newId('burst'), false);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(heartbeats.length - before).toBe(0);
  });

  it('lists [1, 2], answers from its journal, and closes a requestId it never received', async () => {
    await start({ faults: { 'jedc-1': { dropCommands: 1 } } });
    await waitFor(() => heartbeats.find((h) => h.type === 'heartbeat' && h.bridgeId === 'jbridge'));
    expect(heartbeats.find((h) => h.type === 'heartbeat')).toMatchObject({
      body: { protocolVersions: [1, 2] },
    });
    const lost = newId('lost');
    await expect(ack(lost)).rejects.toThrow();
    expect(sim!.counters.commandsDropped).toBe(1);
    expect(await journal(lost, false)).toMatchObject({ body: { state: 'not_received' } });
    const answer = await journal(lost);
    expect(answer.body).toEqual({ state: 'not_received', journalSince: expect.any(Number) });
    // a copy still on its way arrives after the close: refused, never started
    expect((await ack(lost)).body.status).toBe('expired');
    expect(sim!.executed('jedc-1')).toEqual([]);

    const paid = newId('paid');
    expect((await ack(paid)).body.status).toBe('accepted');
    const result = await resultOf(paid);
    expect(await journal(paid)).toMatchObject({ body: { state: 'finished', result } });

    const glt = newId('glt');
    await ack(glt, 'GetLastTransaction');
    expect((await resultOf(glt)).body).toMatchObject({ lastSentRequestId: paid });
  });

  it('as a v1 bridge: lists [1], serves no journal, refuses a v2 command, and sends no lastSentRequestId', async () => {
    await start({
      protocolVersions: [1],
      bridges: [{ bridgeId: 'jbridge1', devices: ['jedc-1'] }],
    });
    await waitFor(() =>
      heartbeats.find((h) => h.type === 'heartbeat' && h.bridgeId === 'jbridge1'),
    );
    expect(
      heartbeats.find((h) => h.type === 'heartbeat' && h.bridgeId === 'jbridge1'),
    ).toMatchObject({
      body: { protocolVersions: [1] },
    });
    await expect(journal(newId('any'))).rejects.toThrow(/no responders|503/i);
    const v2 = await ack(newId('v2'), 'Purchase', 2);
    expect(v2.body).toMatchObject({
      status: 'invalid',
      detail: expect.stringContaining('versions 1'),
    });
    const paid = newId('paid');
    await ack(paid);
    await resultOf(paid);
    const glt = newId('glt');
    await ack(glt, 'GetLastTransaction');
    expect((await resultOf(glt)).body).not.toHaveProperty('lastSentRequestId');
  });
});
