import { BusRequestError, type EdcCommandView, SUBJECTS } from '@tillbus/contracts';
import { ShiftableClock } from '@tillbus/messaging';
import {
  startTcpProxy,
  startTestNatsServer,
  waitFor,
  type TcpProxy,
  type TestNatsServer,
} from '@tillbus/testing';
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
 * edc-command's own outages. The replica reaches NATS through a proxy the tests cut, so it alone can lose the bus
 * while the bridges and the POS stay on it; stopping the server takes everyone off.
 */
const HEARTBEAT_MS = 2_000;
/** The silence a bridge is allowed: 3 intervals. */
const ALLOWANCE_MS = 3 * HEARTBEAT_MS;

let nats: TestNatsServer;
let proxy: TcpProxy;
let pos: Pos;
let sim: SimHandle;
let replica: Replica;
const clock = new ShiftableClock();
let nextBridge = 0;
/** A bridge of its own for each test. */
const bridge = () => {
  const b = nextBridge++;
  return { bridgeId: sim.bridge(b), device: sim.device(b, 0) };
};

beforeAll(async () => {
  nats = await startTestNatsServer();
  proxy = await startTcpProxy(nats.url);
  pos = await posClient(nats.url);
  [sim, replica] = await Promise.all([
    startSim(pos.nc, nats.url, {
      prefix: 'og',
      bridges: 6,
      devices: 1,
      args: ['--heartbeat-ms', String(HEARTBEAT_MS)],
    }),
    startReplica(proxy.url, clock, 'og-replica'),
  ]);
  for (let b = 0; b < 6; b++) await bridgeKnown(replica, sim.device(b, 0));
}, 120_000);

afterAll(async () => {
  await replica?.close();
  await sim?.close();
  await pos?.close();
  await proxy?.close();
  await nats?.dispose();
});

const logged = (msg: string) =>
  replica.logs.filter((line) => (JSON.parse(line) as { msg?: string }).msg === msg).length;

async function metric(name: string): Promise<number> {
  const line = (await replica.metrics()).split('\n').find((l) => l.startsWith(name));
  return line ? Number(line.split(' ').pop()) : 0;
}

const HELD = 'command timers held while NATS is away';
/** A cut that lands while the previous outage's catch-up still runs: the timers are already held. */
const STILL_HELD = 'NATS lost again before the held timers resumed; they stay held';

/**
 * The replica lost NATS and its timers are held: the connection's log line comes first, and a test that moves the
 * clock before the hold would see a timer fire on the moved clock.
 */
async function replicaCutOff(before: { disconnects: number; holds: number }) {
  await waitFor(
    () =>
      logged('disconnected from NATS; reconnecting forever') > before.disconnects &&
      logged(HELD) + logged(STILL_HELD) > before.holds,
    { timeoutMs: 10_000, what: 'the replica to see its disconnect and hold its timers' },
  );
}

async function replicaBack(before: number) {
  await waitFor(() => logged('reconnected to NATS') > before, {
    timeoutMs: 20_000,
    what: 'the replica to reconnect',
  });
}

/** The POS's own connection is back too: a request reaches the replica and is answered. */
async function posReachesReplica() {
  await waitFor(
    () =>
      pos.nc
        .request(SUBJECTS.edc.get, JSON.stringify({ deviceId: 'og-probe', requestId: 'probe' }), {
          timeout: 300,
        })
        .then(
          () => true,
          () => false,
        ),
    { timeoutMs: 10_000, what: 'the POS to reach the replica' },
  );
}

async function accepted(payload: Record<string, unknown>): Promise<EdcCommandView | string> {
  try {
    return await pos.submit(payload);
  } catch (error) {
    if (error instanceof BusRequestError) return error.code;
    throw error;
  }
}

describe('a broker restart', () => {
  it('takes a Purchase at once when the broker is back; a bridge that died meanwhile is refused after its allowance', async () => {
    const alive = bridge();
    const dead = bridge();
    await waitFor(() => replica.engine.presence.device(dead.device).state === 'online');
    // the bridge goes just before the broker: the replica last heard it less than an interval ago
    await sim.control({ op: 'bridgeOnline', bridgeId: dead.bridgeId, online: false });
    const offlineBefore = await metric('tillbus_edc_command_bridges_offline_total');
    const reconnects = logged('reconnected to NATS');
    await nats.stop();
    // longer than the allowance: every bridge's last heartbeat is older than 3 intervals at the return
    await new Promise((resolve) => setTimeout(resolve, ALLOWANCE_MS + 1_000));
    await nats.restart();
    const returnedAt = Date.now();
    await waitFor(() => logged('reconnected to NATS') > reconnects, {
      timeoutMs: 10_000,
      what: 'the replica to reconnect',
    });
    await posReachesReplica();
    const reachedAt = Date.now();
    // as a POS would: submit until one is taken, each refusal a payment turned away
    const refused: string[] = [];
    let requestId = '';
    let view: EdcCommandView | string = '';
    while (Date.now() - reachedAt < 15_000) {
      requestId = newRequestId('back');
      view = await accepted(purchase(alive.device, requestId));
      if (typeof view !== 'string') break;
      refused.push(view);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    console.log(
      `broker return → bus reached ${reachedAt - returnedAt} ms, → first accepted ${Date.now() - returnedAt} ms, refused ${refused.length} (${[...new Set(refused)].join(',')})`,
    );
    expect(refused).toEqual([]);
    expect(view).toMatchObject({ requestId, phase: 'sent' });
    expect(await pos.outcome(alive.device, requestId)).toMatchObject({ phase: 'succeeded' });

    // a bridge that is really gone: sent to at once, nobody answers, nothing started
    const early = newRequestId('gone-early');
    expect(await accepted(purchase(dead.device, early))).toBe('BRIDGE_OFFLINE');
    expect(await pos.stored(dead.device, early)).toBeNull();
    // after its allowance (counted from the replica's reconnect) it is refused without a send
    await waitFor(() => replica.engine.presence.device(dead.device).state === 'offline', {
      timeoutMs: ALLOWANCE_MS + 5_000,
      what: 'the dead bridge to count as offline',
    });
    const late = newRequestId('gone-late');
    expect(await accepted(purchase(dead.device, late))).toBe('BRIDGE_OFFLINE');
    await waitFor(() => logged('bridge offline') > 0, { what: 'the bridge offline log line' });
    expect(await metric('tillbus_edc_command_bridges_offline_total')).toBe(offlineBefore + 1);
    expect(replica.engine.presence.device(alive.device).state).toBe('online');
    expect((await sim.executed(dead.device)).map((c) => c.requestId)).not.toContain(early);
  }, 60_000);
});

describe("edc-command's own outage", () => {
  it('reads a result that arrived meanwhile before any timer fires: succeeded, no timed_out, no CommandCancel', async () => {
    const { device } = bridge();
    await sim.control({ op: 'faults', deviceId: device, faults: { holdAt: 'READY' } });
    const requestId = newRequestId('held');
    await pos.submit(purchase(device, requestId));
    await waitFor(async () => (await pos.get(device, requestId)).phase === 'READY');
    const timeoutsBefore = await metric(
      'tillbus_edc_command_timeouts_total{command="Purchase",cause="deadline"}',
    );
    const lostBefore = await metric(
      'tillbus_edc_command_timeouts_total{command="Purchase",cause="bridge_lost"}',
    );
    const disconnects = {
      disconnects: logged('disconnected from NATS; reconnecting forever'),
      holds: logged(HELD) + logged(STILL_HELD),
    };
    const resumes = logged('reconnected to NATS');
    await proxy.cut();
    const cutAt = Date.now();
    await replicaCutOff(disconnects);
    // the card countdown (30 s) passes while the replica cannot hear the bridge, which reads the card meanwhile
    clock.advance(35_000);
    await sim.control({ op: 'faults', deviceId: device, faults: { holdAt: null } });
    await waitFor(
      async () =>
        (
          await sim.control<{ lastTransactionRequestId: string | null }>({
            op: 'device',
            deviceId: device,
          })
        ).lastTransactionRequestId === requestId,
      { what: 'the device to finish the payment' },
    );
    // longer than the bridge's silence allowance: the replica last heard it before the cut
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, cutAt + ALLOWANCE_MS + 1_000 - Date.now())),
    );
    await proxy.restore();
    await replicaBack(resumes);
    const outcome = await pos.outcome(device, requestId);
    expect(outcome).toMatchObject({ phase: 'succeeded', outcome: 'SUCCESS' });
    expect(outcome.resolution).not.toBe('late_device');
    const phases = pos.eventsOf(device, requestId).map((e) => `${e.type}:${e.phase}`);
    expect(phases).not.toContain('phase:timed_out');
    expect((await sim.executed(device)).map((c) => c.commandName)).toEqual(['Purchase']);
    expect(replica.logs.join('\n')).not.toMatch(/sending CommandCancel|refused a transition/);
    expect(
      await metric('tillbus_edc_command_timeouts_total{command="Purchase",cause="deadline"}'),
    ).toBe(timeoutsBefore);
    expect(
      await metric('tillbus_edc_command_timeouts_total{command="Purchase",cause="bridge_lost"}'),
    ).toBe(lostBefore);
  }, 60_000);

  it('re-arms a held card countdown with the time it had left, not counting the outage', async () => {
    const { device } = bridge();
    await sim.control({ op: 'faults', deviceId: device, faults: { holdAt: 'READY' } });
    const requestId = newRequestId('rearm');
    await pos.submit(purchase(device, requestId));
    await waitFor(async () => (await pos.get(device, requestId)).phase === 'READY');
    const before = await pos.stored(device, requestId);
    if (before?.kind !== 'command') throw new Error('no command record');
    const countdownEndsAt = before.lifecycle.countdownEndsAt!;
    const deadlineAt = before.lifecycle.deadlineAt!;
    const disconnects = {
      disconnects: logged('disconnected from NATS; reconnecting forever'),
      holds: logged(HELD) + logged(STILL_HELD),
    };
    const resumes = logged('reconnected to NATS');
    const leftAtCut = countdownEndsAt - clock.now();
    await proxy.cut();
    await replicaCutOff(disconnects);
    clock.advance(100_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await proxy.restore();
    await replicaBack(resumes);
    const after = await waitFor(async () => {
      const record = await pos.stored(device, requestId);
      return record?.kind === 'command' && record.lifecycle.countdownEndsAt !== countdownEndsAt
        ? record
        : undefined;
    });
    expect(after.lifecycle.phase).toBe('READY');
    const held = after.lifecycle.countdownEndsAt! - countdownEndsAt;
    expect(held).toBeGreaterThanOrEqual(100_000);
    expect(after.lifecycle.deadlineAt! - deadlineAt).toBe(held);
    // what is left now is what was left at the cut, less the catch-up (bounded) and this test's own steps
    const left = after.lifecycle.countdownEndsAt! - clock.now();
    expect(left).toBeLessThanOrEqual(leftAtCut);
    expect(left).toBeGreaterThan(leftAtCut - 10_000);
    // the countdown then runs out as it would have: the automatic CommandCancel goes
    clock.advance(left + 100);
    const outcome = await pos.outcome(device, requestId);
    expect(outcome).toMatchObject({ phase: 'cancelled' });
    expect((await sim.executed(device)).map((c) => c.commandName)).toEqual([
      'Purchase',
      'CommandCancel',
    ]);
  }, 60_000);
});
