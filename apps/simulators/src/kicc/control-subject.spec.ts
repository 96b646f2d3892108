import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startTestNatsServer, type TestNatsServer } from '@tillbus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKiccBridgeSimulator, type KiccSimulator } from './simulator';

const SUBJECT = 'tillbus.sim.kicc-bridge.control-spec';
let nats: TestNatsServer;
let nc: NatsConnection;
let sim: KiccSimulator;

beforeAll(async () => {
  nats = await startTestNatsServer();
  nc = await connect({ servers: nats.url });
  sim = await startKiccBridgeSimulator({
    natsUrl: nats.url,
    bridges: [{ bridgeId: 'cbridge', devices: ['cedc-1'] }],
    timing: 'fast',
    heartbeatIntervalMs: 60_000,
    controlSubject: SUBJECT,
  });
});
afterAll(async () => {
  await sim?.close();
  await nc?.close();
  await nats?.dispose();
});

async function control(request: unknown): Promise<{ ok: boolean; error?: string }> {
  const reply = await nc.request(SUBJECT, JSON.stringify(request), { timeout: 2_000 });
  return JSON.parse(Buffer.from(reply.data).toString()) as { ok: boolean; error?: string };
}

describe('the KICC simulator control subject', () => {
  it.each([
    [{ op: 'heartbeatsLost', bridgeId: 'cbridge', lost: 'false' }, 'lost must be true or false'],
    [{ op: 'heartbeatsLost', bridgeId: 'cbridge' }, 'lost must be true or false'],
    [{ op: 'bridgeOnline', bridgeId: 'cbridge', online: 0 }, 'online must be true or false'],
    [{ op: 'heartbeatsLost', bridgeId: 'nobody', lost: true }, 'unknown bridge nobody'],
    [{ op: 'reboot' }, 'op must be one of'],
    [null, 'op must be one of'],
  ])('refuses %j with a message, and keeps serving', async (request, message) => {
    const answer = await control(request);
    expect(answer.ok).toBe(false);
    expect(answer.error).toContain(message);
    expect(await control({ op: 'stats' })).toMatchObject({ ok: true });
  });

  it('switches a bridge heartbeats lost and back', async () => {
    expect(await control({ op: 'heartbeatsLost', bridgeId: 'cbridge', lost: true })).toEqual({
      ok: true,
    });
    expect(await control({ op: 'heartbeatsLost', bridgeId: 'cbridge', lost: false })).toEqual({
      ok: true,
    });
  });
});
