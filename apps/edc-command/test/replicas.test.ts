import {
  spawnTypeScript,
  startTestNatsServer,
  waitFor,
  type TestNatsServer,
} from '@tillbus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredCommand } from '../src/record/model';
import {
  SERVICE_MAIN,
  newRequestId,
  posClient,
  privateValues,
  purchase,
  startSim,
  type Child,
  type Pos,
  type SimHandle,
} from './support';

/**
 * Three edc-command processes on one NATS, as in production: the device lock holds across them, and a replica
 * killed mid-Purchase does not stop the Purchase from reaching its outcome.
 */
let nats: TestNatsServer;
let sim: SimHandle;
let pos: Pos;
const replicas = new Map<string, Child>();
const everyReplica: Child[] = [];
const used: { deviceId: string; requestId: string }[] = [];

const ENV = {
  OPS_PORT: '0',
  LOG_LEVEL: 'info',
  SHUTDOWN_GRACE_MS: '2000',
  EDC_OWNER_LEASE_MS: '2000',
  EDC_SWEEP_INTERVAL_MS: '300',
  EDC_PRESENCE_WARMUP_MS: '2000',
  // short timeouts so a take-over and a recovery fit in a test (the seed's 95 s are proven on the test clock)
  EDC_TIMEOUT_PURCHASE_MS: '3000',
  EDC_TIMEOUT_PURCHASE_SIGNATURE_MS: '4000',
};

function startReplica(name: string): Child {
  const child = spawnTypeScript(SERVICE_MAIN, { ...ENV, NATS_URL: nats.url, REPLICA_ID: name });
  replicas.set(name, child);
  everyReplica.push(child);
  return child;
}

beforeAll(async () => {
  nats = await startTestNatsServer();
  pos = await posClient(nats.url);
  const names = ['replica-a', 'replica-b', 'replica-c'];
  const started = names.map(startReplica);
  sim = await startSim(pos.nc, nats.url, { prefix: 'rp', bridges: 4, devices: 8 });
  await Promise.all(
    started.map((child) => child.waitForOutput(/"msg":"edc engine ready"/, 90_000)),
  );
  // every replica has heard every bridge
  await Promise.all(
    started.map((child) => child.waitForOutput(/"msg":"bridge online","bridgeId":"rp-b3"/, 30_000)),
  );
}, 180_000);

afterAll(async () => {
  for (const child of everyReplica) child.kill('SIGKILL');
  await Promise.all(everyReplica.map((child) => child.exited));
  await sim?.close();
  await pos?.close();
  await nats?.dispose();
});

const handledBy = (pattern: RegExp) =>
  [...replicas.entries()].filter(([, child]) => pattern.test(child.output())).map(([name]) => name);

describe('three replicas', () => {
  it('let one command per device through and answer DEVICE_BUSY to the others, whichever replica takes them', async () => {
    const devices = Array.from({ length: 8 }, (_, d) => sim.device(0, d));
    for (const deviceId of devices)
      await sim.control({ op: 'faults', deviceId, faults: { holdAt: 'READY' } });
    const attempts = devices.flatMap((deviceId) =>
      [1, 2, 3].map((n) => ({ deviceId, requestId: newRequestId(`race${n}`) })),
    );
    const answers = await Promise.all(
      attempts.map(({ deviceId, requestId }) =>
        pos.submit(purchase(deviceId, requestId)).then(
          (view) => ({ deviceId, requestId, accepted: view.phase === 'sent', code: 'OK' }),
          (error: { code: string }) => ({ deviceId, requestId, accepted: false, code: error.code }),
        ),
      ),
    );
    for (const deviceId of devices) {
      const mine = answers.filter((a) => a.deviceId === deviceId);
      expect(mine.filter((a) => a.accepted)).toHaveLength(1);
      expect(mine.filter((a) => !a.accepted).map((a) => a.code)).toEqual([
        'DEVICE_BUSY',
        'DEVICE_BUSY',
      ]);
    }
    // the refusals were not all made by the replica that took the device
    const crossReplica = answers.filter((a) => {
      if (a.accepted) return false;
      const winner = answers.find((b) => b.deviceId === a.deviceId && b.accepted)!;
      const refusedBy = handledBy(
        new RegExp(`"msg":"submit refused".*"requestId":"${a.requestId}"`),
      );
      const acceptedBy = handledBy(
        new RegExp(`"msg":"command accepted".*"requestId":"${winner.requestId}"`),
      );
      return refusedBy.length === 1 && acceptedBy.length === 1 && refusedBy[0] !== acceptedBy[0];
    });
    expect(crossReplica.length).toBeGreaterThan(0);
    for (const deviceId of devices) {
      await sim.control({ op: 'faults', deviceId, faults: { holdAt: null } });
      const winner = answers.find((a) => a.deviceId === deviceId && a.accepted)!;
      used.push(winner);
      await pos.outcome(deviceId, winner.requestId);
      expect(await sim.executed(deviceId)).toEqual([
        expect.objectContaining({ requestId: winner.requestId }),
      ]);
    }
  });

  it('reach the outcome of a Purchase whose replica was killed, and whose result was lost, by taking it over', async () => {
    const deviceId = sim.device(1, 0);
    await sim.control({
      op: 'faults',
      deviceId,
      faults: { holdAt: 'START_TRANSACTION', dropResults: 1, lastTransactionRequestId: true },
    });
    const requestId = newRequestId('killed');
    used.push({ deviceId, requestId });
    await pos.submit(purchase(deviceId, requestId));
    await waitFor(async () => (await pos.get(deviceId, requestId)).phase === 'START_TRANSACTION');
    const owner = ((await pos.stored(deviceId, requestId)) as StoredCommand).owner;
    replicas.get(owner)!.kill('SIGKILL');
    await replicas.get(owner)!.exited;
    replicas.delete(owner);
    await sim.control({ op: 'release', deviceId });
    const outcome = await pos.outcome(deviceId, requestId, 60_000);
    expect(outcome).toMatchObject({
      phase: 'succeeded',
      outcome: 'SUCCESS',
      resolution: 'recovery',
    });
    const stored = (await pos.stored(deviceId, requestId)) as StoredCommand;
    expect(stored.owner).not.toBe(owner);
    expect(
      handledBy(new RegExp(`"msg":"took over a command".*"requestId":"${requestId}"`)),
    ).toHaveLength(1);
    expect((await sim.executed(deviceId)).filter((c) => c.commandName === 'Purchase')).toHaveLength(
      1,
    );
    startReplica(owner);
  });

  it('reach the outcome of a Purchase whose replica was killed while the device finished it', async () => {
    await waitFor(
      () =>
        replicas.size === 3 &&
        [...replicas.values()].every((c) => /edc engine ready/.test(c.output())),
      {
        timeoutMs: 90_000,
        what: 'three replicas again',
      },
    );
    const deviceId = sim.device(1, 1);
    await sim.control({ op: 'faults', deviceId, faults: { holdAt: 'CARD_READ_COMPLETED' } });
    const requestId = newRequestId('killed2');
    used.push({ deviceId, requestId });
    await pos.submit(purchase(deviceId, requestId, '60000'));
    await waitFor(async () => (await pos.get(deviceId, requestId)).phase === 'CARD_READ_COMPLETED');
    const owner = ((await pos.stored(deviceId, requestId)) as StoredCommand).owner;
    replicas.get(owner)!.kill('SIGKILL');
    await sim.control({ op: 'release', deviceId });
    const outcome = await pos.outcome(deviceId, requestId, 60_000);
    expect(outcome).toMatchObject({ phase: 'succeeded', outcome: 'SUCCESS', resolution: 'device' });
    expect((await sim.executed(deviceId)).map((c) => c.commandName)).toEqual(['Purchase']);
  });

  it('hand their commands over at once on SIGTERM, and exit 0', async () => {
    const alive = [...replicas.entries()].filter(
      ([, child]) => child.process.exitCode === null && child.process.signalCode === null,
    );
    expect(alive.length).toBeGreaterThanOrEqual(2);
    const deviceId = sim.device(2, 0);
    await sim.control({
      op: 'faults',
      deviceId,
      faults: { holdAt: 'START_TRANSACTION', dropResults: 1, lastTransactionRequestId: true },
    });
    const requestId = newRequestId('handover');
    used.push({ deviceId, requestId });
    await pos.submit(purchase(deviceId, requestId));
    await waitFor(async () => (await pos.get(deviceId, requestId)).phase === 'START_TRANSACTION');
    const owner = ((await pos.stored(deviceId, requestId)) as StoredCommand).owner;
    const child = replicas.get(owner)!;
    child.kill('SIGTERM');
    expect(await child.exited).toEqual({ code: 0, signal: null });
    await sim.control({ op: 'release', deviceId });
    expect(await pos.outcome(deviceId, requestId, 60_000)).toMatchObject({
      phase: 'succeeded',
      resolution: 'recovery',
    });
    expect(((await pos.stored(deviceId, requestId)) as StoredCommand).owner).not.toBe(owner);
  });

  it('log nothing private', async () => {
    const secrets = await privateValues(pos, used);
    expect(secrets.length).toBeGreaterThan(0);
    const output = everyReplica.map((child) => child.output()).join('\n');
    for (const secret of secrets) expect(output).not.toContain(secret);
  });

  it('refuse to start on an invalid configuration, with one line naming the variables', async () => {
    const bad = spawnTypeScript(SERVICE_MAIN, {
      NATS_URL: nats.url,
      EDC_TIMEOUT_PURCHASE_MS: '5',
      EDC_RECOVERY_WITHOUT_REQUEST_ID: 'guess',
    });
    expect((await bad.exited).code).toBe(1);
    const line = bad
      .output()
      .trim()
      .split('\n')
      .find((l) => l.includes('service failed to start'))!;
    expect(line).toContain('EDC_TIMEOUT_PURCHASE_MS');
    expect(line).toContain('EDC_RECOVERY_WITHOUT_REQUEST_ID');
    expect(line).not.toContain('guess');
  });
});
