import { ShiftableClock } from '@tillbus/messaging';
import { kiccBridgeSubject } from '@tillbus/protocols-kicc';
import { waitFor } from '@tillbus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  newRequestId,
  purchase,
  startMixedVersionStack,
  type MixedVersionStack,
  type SimHandle,
} from './support';

/**
 * A Purchase accepted but never delivered to the device (a silent link loss swallows it and every resend): with a
 * v2 bridge, its journal tells "never received" from "unknown" (docs/bridge-protocol.md §12); a v1 bridge ends as
 * before, in doubt.
 */
let stack: MixedVersionStack;
let v1: SimHandle;
const clock = new ShiftableClock();

beforeAll(async () => {
  stack = await startMixedVersionStack(clock, 'jn', { bridges: 1, devices: 1 });
  v1 = stack.v1;
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

/** One paid Purchase of another amount (the device's last transaction), then a Purchase lost on the way. */
async function lostAfterAPayment(sim: SimHandle, deviceId: string, label: string) {
  const { pos } = stack;
  expect(
    await pos.submitAndWait(purchase(deviceId, newRequestId(`${label}-paid`), '200')),
  ).toMatchObject({ phase: 'succeeded' });
  await sim.control({ op: 'faults', deviceId, faults: { dropCommands: 1_000 } });
  const requestId = newRequestId(`${label}-lost`);
  // no ack: the POS is told `sent`, and edc-command resends the same command until notAfter
  expect(await pos.submit(purchase(deviceId, requestId, '104'))).toMatchObject({ phase: 'sent' });
  await waitFor(
    async () => {
      const stats = await sim.control<{ counters: { commandsDropped: number } }>({ op: 'stats' });
      return stats.counters.commandsDropped >= 2;
    },
    { what: 'the command and a resend lost on the way' },
  );
  clock.advance(95_000);
  const outcome = await pos.outcome(deviceId, requestId, 30_000);
  await sim.control({ op: 'faults', deviceId, faults: { dropCommands: 0 } });
  return { requestId, outcome };
}

describe('a Purchase the bridge never received', () => {
  it('with a v2 bridge: failed NOT_RECEIVED, not started, nothing executed, no GetLastTransaction, device free', async () => {
    const { pos } = stack;
    const sim = stack.sim;
    const deviceId = sim.device(0, 0);
    const { requestId, outcome } = await lostAfterAPayment(sim, deviceId, 'v2');
    expect(outcome).toMatchObject({
      phase: 'failed',
      outcome: 'FAILED',
      final: true,
      resolution: 'recovery',
      failure: { type: 'bridge', code: 'NOT_RECEIVED' },
    });
    expect(await pos.get(deviceId, requestId)).toMatchObject({
      phase: 'failed',
      recoveryAttempts: 0,
      unknownCause: 'deadline',
    });
    const executed = await sim.executed(deviceId);
    expect(executed.filter((c) => c.requestId === requestId)).toEqual([]);
    expect(executed.map((c) => c.commandName)).toEqual(['Purchase']);
    // the device is released: the next payment runs
    const next = newRequestId('v2-next');
    expect(await pos.submitAndWait(purchase(deviceId, next, '105'))).toMatchObject({
      phase: 'succeeded',
    });
  });

  it('with a v1 bridge: as before, GetLastTransaction finds another amount and the command is in doubt', async () => {
    const { pos } = stack;
    const deviceId = v1.device(0, 0);
    const asked: string[] = [];
    const watch = pos.nc.subscribe(kiccBridgeSubject('journal', deviceId), {
      callback: (_error, msg) => void asked.push(msg.subject),
    });
    const { requestId, outcome } = await lostAfterAPayment(v1, deviceId, 'v1');
    watch.unsubscribe();
    expect(asked).toEqual([]);
    expect(outcome).toMatchObject({ phase: 'in_doubt', outcome: 'UNKNOWN', final: false });
    expect(outcome.reason).toContain('another amount');
    const executed = await v1.executed(deviceId);
    expect(executed.filter((c) => c.requestId === requestId)).toEqual([]);
    expect(executed.map((c) => c.commandName)).toEqual(['Purchase', 'GetLastTransaction']);
  });
});
