import { BusRequestError } from '@tillbus/contracts';
import { ShiftableClock } from '@tillbus/messaging';
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
 * Presence that follows the link (issue 20): a bridge whose heartbeats are lost on the way while commands still
 * reach it (a WAN cut its own connection never saw, then the heal before its next beat) is probed through its v2
 * journal before a submit is refused BRIDGE_OFFLINE. A v1 bridge, and a bridge that is really gone, are refused.
 */
let stack: MixedVersionStack;
let v1: SimHandle;
const clock = new ShiftableClock();

beforeAll(async () => {
  stack = await startMixedVersionStack(clock, 'pb', { bridges: 2, devices: 1 });
  v1 = stack.v1;
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

async function probes(result: 'answered' | 'silent'): Promise<number> {
  const line = (await stack.replica.metrics())
    .split('\n')
    .find((l) => l.startsWith(`tillbus_edc_command_bridge_probes_total{result="${result}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

async function submitted(payload: Record<string, unknown>): Promise<string> {
  try {
    return (await stack.pos.submit(payload)).phase;
  } catch (error) {
    if (error instanceof BusRequestError) return error.code;
    throw error;
  }
}

const offline = (deviceId: string) =>
  waitFor(() => stack.replica.engine.presence.device(deviceId).state === 'offline', {
    timeoutMs: 10_000,
    what: `${deviceId}'s bridge to count as offline`,
  });

describe('a submit to a bridge whose heartbeats went quiet', () => {
  it('goes ahead when a v2 bridge answers the probe, and the bridge is online again', async () => {
    const { sim, pos, replica } = stack;
    const deviceId = sim.device(0, 0);
    await sim.control({ op: 'heartbeatsLost', bridgeId: sim.bridge(0), lost: true });
    try {
      await offline(deviceId);
      const answeredBefore = await probes('answered');
      const requestId = newRequestId('probe-ok');
      expect(await submitted(purchase(deviceId, requestId))).toBe('sent');
      expect(await probes('answered')).toBe(answeredBefore + 1);
      expect(replica.engine.presence.device(deviceId).state).toBe('online');
      const lines = replica.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines).toContainEqual(
        expect.objectContaining({ msg: 'bridge online', bridgeId: sim.bridge(0), by: 'probe' }),
      );
      expect(await pos.outcome(deviceId, requestId)).toMatchObject({
        phase: 'succeeded',
        outcome: 'SUCCESS',
      });
      // the probe closed nothing: the bridge ran the command it was asked about
      expect((await sim.executed(deviceId)).map((c) => c.requestId)).toEqual([requestId]);
    } finally {
      await sim.control({ op: 'heartbeatsLost', bridgeId: sim.bridge(0), lost: false });
    }
  });

  it('is refused at once for a v1 bridge, which has no journal to probe', async () => {
    const deviceId = v1.device(0, 0);
    await v1.control({ op: 'heartbeatsLost', bridgeId: v1.bridge(0), lost: true });
    try {
      await offline(deviceId);
      const before = (await probes('answered')) + (await probes('silent'));
      expect(await submitted(purchase(deviceId, newRequestId('probe-v1')))).toBe('BRIDGE_OFFLINE');
      expect((await probes('answered')) + (await probes('silent'))).toBe(before);
      expect(await v1.executed(deviceId)).toEqual([]);
    } finally {
      await v1.control({ op: 'heartbeatsLost', bridgeId: v1.bridge(0), lost: false });
    }
  });

  it('is refused for a v2 bridge that is really gone after one probe, and the next submit without one', async () => {
    const { sim } = stack;
    const deviceId = sim.device(1, 0);
    await sim.control({ op: 'bridgeOnline', bridgeId: sim.bridge(1), online: false });
    try {
      await offline(deviceId);
      const silentBefore = await probes('silent');
      const startedAt = Date.now();
      expect(await submitted(purchase(deviceId, newRequestId('probe-gone-1')))).toBe(
        'BRIDGE_OFFLINE',
      );
      // no journal on the bus answers at once; at worst the probe waits its 1 s
      expect(Date.now() - startedAt).toBeLessThan(3_000);
      expect(await probes('silent')).toBe(silentBefore + 1);
      expect(await submitted(purchase(deviceId, newRequestId('probe-gone-2')))).toBe(
        'BRIDGE_OFFLINE',
      );
      expect(await probes('silent')).toBe(silentBefore + 1);
      expect(await sim.executed(deviceId)).toEqual([]);
    } finally {
      await sim.control({ op: 'bridgeOnline', bridgeId: sim.bridge(1), online: true });
    }
  });
});
