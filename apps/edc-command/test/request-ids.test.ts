import { BusRequestError, type EdcCommandView } from '@tillbus/contracts';
import { ShiftableClock } from '@tillbus/messaging';
import { startTestNatsServer, type TestNatsServer } from '@tillbus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bridgeKnown,
  newRequestId,
  posClient,
  purchase,
  startReplica,
  startSim,
  type Pos,
  type Replica,
  type SimHandle,
} from './support';

/**
 * One payment per requestId, whatever the device, and DEVICE_BUSY only for another payment: two edc-command
 * replicas on one NATS, the POS's submits spread over both by the queue group, against KICC bridge simulators.
 */
let nats: TestNatsServer;
let sim: SimHandle;
let pos: Pos;
let replicas: Replica[] = [];
const clock = new ShiftableClock();

beforeAll(async () => {
  nats = await startTestNatsServer();
  pos = await posClient(nats.url);
  const started = await Promise.all([
    startSim(pos.nc, nats.url, { prefix: 'rq', bridges: 4, devices: 2 }),
    startReplica(nats.url, clock, 'rq-replica-a'),
    startReplica(nats.url, clock, 'rq-replica-b'),
  ]);
  sim = started[0];
  replicas = [started[1], started[2]];
  for (const replica of replicas)
    for (let bridge = 0; bridge < 4; bridge++) await bridgeKnown(replica, sim.device(bridge, 1));
}, 120_000);

afterAll(async () => {
  await Promise.all(replicas.map((replica) => replica.close()));
  await sim?.close();
  await pos?.close();
  await nats?.dispose();
});

type Answer = { view: EdcCommandView } | { error: BusRequestError };

const answer = (payload: Record<string, unknown>): Promise<Answer> =>
  pos.submit(payload).then(
    (view) => ({ view }),
    (error: unknown) => {
      if (error instanceof BusRequestError) return { error };
      throw error;
    },
  );

/** The same requestId submitted on two devices at once: one runs, the other is a conflicting reuse. */
async function sameRequestIdOnTwoDevices(deviceA: string, deviceB: string): Promise<void> {
  const requestId = newRequestId('twice');
  const answers = await Promise.all([
    answer(purchase(deviceA, requestId)),
    answer(purchase(deviceB, requestId)),
  ]);
  const accepted = answers.flatMap((a) => ('view' in a ? [a.view] : []));
  const refused = answers.flatMap((a) => ('error' in a ? [a.error] : []));
  expect(accepted).toHaveLength(1);
  expect(refused).toHaveLength(1);
  const holder = accepted[0].deviceId;
  const other = holder === deviceA ? deviceB : deviceA;
  expect(refused[0].code).toBe('REPEAT_REQ_REJECT');
  expect(refused[0].message).toContain(`device ${holder}`);
  expect(refused[0].details).toMatchObject({
    deviceId: holder,
    requestId,
    submittedDeviceId: other,
  });

  // exactly one charge, on the holder, which reaches its outcome from the device: nothing waits at `sent`
  expect(await pos.outcome(holder, requestId)).toMatchObject({
    phase: 'succeeded',
    outcome: 'SUCCESS',
    resolution: 'device',
  });
  const ran = [...(await sim.executed(deviceA)), ...(await sim.executed(deviceB))].filter(
    (c) => c.requestId === requestId,
  );
  expect(ran).toEqual([expect.objectContaining({ deviceId: holder, commandName: 'Purchase' })]);
  expect(await pos.stored(other, requestId)).toBeNull();
  expect(pos.eventsOf(other, requestId)).toEqual([]);

  // asked again later, on either replica: the same answers, and the other device is free
  const again = await pos.refusal('tillbus.edc.command.submit', purchase(other, requestId));
  expect(again.code).toBe('REPEAT_REQ_REJECT');
  expect(again.details).toMatchObject({ deviceId: holder });
  await expect(pos.get(other, requestId)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  expect(await pos.get(holder, requestId)).toMatchObject({ phase: 'succeeded' });
  const next = newRequestId('after');
  expect(await pos.submitAndWait(purchase(other, next))).toMatchObject({
    phase: 'succeeded',
    outcome: 'SUCCESS',
  });
  for (const replica of replicas)
    expect(await replica.metrics()).toMatch(/^tillbus_edc_command_in_doubt 0$/m);
}

describe('one payment per requestId', () => {
  it('refuses the same requestId on a device of another bridge with REPEAT_REQ_REJECT naming the holder', async () => {
    for (let round = 0; round < 3; round++)
      await sameRequestIdOnTwoDevices(sim.device(0, 0), sim.device(1, 0));
  });

  it('refuses the same requestId on another device of the same bridge the same way', async () => {
    for (let round = 0; round < 3; round++)
      await sameRequestIdOnTwoDevices(sim.device(2, 0), sim.device(2, 1));
  });

  it('refuses a requestId whose payment already finished on another device', async () => {
    const [deviceA, deviceB] = [sim.device(0, 1), sim.device(1, 1)];
    const requestId = newRequestId('done');
    expect(await pos.submitAndWait(purchase(deviceA, requestId))).toMatchObject({
      phase: 'succeeded',
    });
    const refused = await pos.refusal('tillbus.edc.command.submit', purchase(deviceB, requestId));
    expect(refused).toMatchObject({
      code: 'REPEAT_REQ_REJECT',
      details: { deviceId: deviceA, requestId, submittedDeviceId: deviceB },
    });
    expect((await sim.executed(deviceB)).filter((c) => c.requestId === requestId)).toEqual([]);
  });
});

describe('DEVICE_BUSY', () => {
  it('is never the answer to a submit whose requestId holds the device (rounds of concurrent identical submits)', async () => {
    const deviceId = sim.device(3, 0);
    const rounds = 30;
    const perRound = 16;
    const falseBusy: { round: number; details: unknown }[] = [];
    for (let round = 0; round < rounds; round++) {
      const requestId = newRequestId(`same${round}`);
      const answers = await Promise.all(
        Array.from({ length: perRound }, () => answer(purchase(deviceId, requestId))),
      );
      for (const a of answers) {
        if ('view' in a) {
          expect(a.view).toMatchObject({ deviceId, requestId, commandName: 'Purchase' });
          continue;
        }
        // nothing else runs on this device: any refusal is one for the caller's own payment
        if (a.error.code === 'DEVICE_BUSY') falseBusy.push({ round, details: a.error.details });
        else throw a.error;
      }
      await pos.outcome(deviceId, requestId);
    }
    expect(falseBusy).toEqual([]);
    const ran = await sim.executed(deviceId);
    expect(ran).toHaveLength(rounds);
    expect(new Set(ran.map((c) => c.requestId)).size).toBe(rounds);
    // the rounds were won by both replicas: the submits really raced across them
    for (const replica of replicas) {
      const won = replica.logs.filter(
        (line) => line.includes('"msg":"command accepted"') && line.includes(`"${deviceId}"`),
      );
      expect(won.length).toBeGreaterThan(0);
    }
  }, 180_000);
});
