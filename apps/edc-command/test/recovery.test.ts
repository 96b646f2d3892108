import { jetstream } from '@nats-io/jetstream';
import { SUBJECTS } from '@tillbus/contracts';
import { ShiftableClock } from '@tillbus/messaging';
import { kiccBridgeSubject } from '@tillbus/protocols-kicc';
import { promtoolCheckMetrics, waitFor, type TestNatsServer } from '@tillbus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bridgeKnown,
  newRequestId,
  privateValues,
  purchase,
  startOneReplicaStack,
  type OneReplicaStack,
  startReplica,
  type Pos,
  type Replica,
  type SimHandle,
} from './support';

let nats: TestNatsServer;
let sim: SimHandle;
let replica: Replica;
let pos: Pos;
const clock = new ShiftableClock();
const used: { deviceId: string; requestId: string }[] = [];
let nextBridge = 0;
/** A bridge of its own for each test, so taking one offline touches nothing else. */
const bridge = () => {
  const b = nextBridge++;
  return { bridgeId: sim.bridge(b), device: (d = 0) => sim.device(b, d) };
};

let stack: OneReplicaStack;
beforeAll(async () => {
  stack = await startOneReplicaStack(clock, 'rc', { bridges: 16, devices: 2 }, [15, 1]);
  ({ nats, sim, replica, pos } = stack);
}, 120_000);

afterAll(() => stack?.close());

async function submitted(deviceId: string, requestId: string, value = '104', extra = {}) {
  used.push({ deviceId, requestId });
  return pos.submit(purchase(deviceId, requestId, value, extra));
}

const phase = async (deviceId: string, requestId: string) =>
  (await pos.get(deviceId, requestId)).phase;

async function simDevice(deviceId: string) {
  return sim.control<{
    running: { requestId: string; phase: string } | null;
    lastTransactionRequestId: string | null;
  }>({
    op: 'device',
    deviceId,
  });
}

/** The device finished the payment, but its result never reached edc-command. */
async function paidButLost(deviceId: string, requestId: string) {
  await waitFor(async () => (await simDevice(deviceId)).lastTransactionRequestId === requestId, {
    what: 'the device to finish the payment',
  });
  await waitFor(async () => (await phase(deviceId, requestId)) === 'START_TRANSACTION');
}

async function metric(name: string): Promise<string> {
  return (await replica.metrics())
    .split('\n')
    .filter((line) => line.startsWith(name))
    .join('\n');
}

describe('a lost result', () => {
  it('is recovered with GetLastTransaction into succeeded, with exactly one Purchase run on the device', async () => {
    const deviceId = bridge().device();
    await sim.control({
      op: 'faults',
      deviceId,
      faults: { dropResults: 1, lastTransactionRequestId: true },
    });
    const requestId = newRequestId('lost');
    await submitted(deviceId, requestId);
    await paidButLost(deviceId, requestId);
    clock.advance(94_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await phase(deviceId, requestId)).toBe('START_TRANSACTION');
    clock.advance(1_000);
    const outcome = await pos.outcome(deviceId, requestId);
    expect(outcome).toMatchObject({
      phase: 'succeeded',
      outcome: 'SUCCESS',
      resolution: 'recovery',
    });
    expect(outcome.result).toMatchObject({
      requestId,
      paymentAmount: { value: '104' },
      result: { resultCode: 'SUCCESS' },
    });
    expect(outcome.result!.acquirerInfo).not.toHaveProperty('acquirerMetaData');
    const types = pos.eventsOf(deviceId, requestId).map((e) => `${e.type}:${e.status ?? e.phase}`);
    expect(types).toEqual(
      expect.arrayContaining([
        'phase:timed_out',
        'recovery:started',
        'recovery:answered',
        'outcome:succeeded',
      ]),
    );
    const executed = await sim.executed(deviceId);
    expect(executed.filter((c) => c.commandName === 'Purchase')).toHaveLength(1);
    expect(executed.map((c) => c.commandName)).toEqual(['Purchase', 'GetLastTransaction']);
    expect(await pos.get(deviceId, requestId)).toMatchObject({
      recoveryAttempts: 1,
      unknownCause: 'deadline',
    });
    expect(
      await metric('tillbus_edc_command_timeouts_total{command="Purchase",cause="deadline"}'),
    ).toMatch(/ [1-9]/);
    expect(await metric('tillbus_edc_command_recoveries_total{result="succeeded"}')).toMatch(
      / [1-9]/,
    );
  });

  it('is recovered from an answer without requestId (the seed sample) when the device previous transaction is known', async () => {
    const deviceId = bridge().device();
    const first = newRequestId('first');
    used.push({ deviceId, requestId: first });
    await pos.submitAndWait(purchase(deviceId, first));
    await sim.control({
      op: 'faults',
      deviceId,
      faults: { dropResults: 1, lastTransactionRequestId: false },
    });
    const requestId = newRequestId('lost');
    await submitted(deviceId, requestId);
    await paidButLost(deviceId, requestId);
    clock.advance(95_000);
    expect(await pos.outcome(deviceId, requestId)).toMatchObject({
      phase: 'succeeded',
      resolution: 'recovery',
    });
    expect((await pos.get(deviceId, requestId)).result).toMatchObject({
      paymentAmount: { value: '104' },
    });
  });

  it('leaves the command in doubt when nothing proves it, and a late result reconciles it', async () => {
    const deviceId = bridge().device();
    // no previous transaction known on this device, its baseline could not be read (the query failed), and the
    // answer carries no requestId: nothing proves it is ours
    await sim.control({
      op: 'faults',
      deviceId,
      faults: { delayResultMs: 1_500, lastTransactionRequestId: false, failLastTransaction: 1 },
    });
    const requestId = newRequestId('late');
    await submitted(deviceId, requestId);
    await paidButLost(deviceId, requestId);
    clock.advance(95_000);
    const inDoubt = await pos.outcome(deviceId, requestId);
    expect(inDoubt).toMatchObject({ phase: 'in_doubt', outcome: 'UNKNOWN', final: false });
    expect(inDoubt.reason).toContain('no requestId');
    await waitFor(async () => /tillbus_edc_command_in_doubt [1-9]/.test(await replica.metrics()), {
      what: 'the in_doubt gauge',
    });
    // the device is free again: a command in doubt does not block the till
    await sim.control({ op: 'faults', deviceId, faults: { delayResultMs: 0 } });
    const late = await waitFor(() =>
      pos
        .eventsOf(deviceId, requestId)
        .find((e) => e.type === 'outcome' && e.phase === 'succeeded'),
    );
    expect(late).toMatchObject({ outcome: 'SUCCESS', resolution: 'late_device', late: true });
    expect(await pos.get(deviceId, requestId)).toMatchObject({
      phase: 'succeeded',
      resolution: 'late_device',
    });
    await waitFor(async () => /tillbus_edc_command_in_doubt 0/.test(await replica.metrics()), {
      what: 'the in_doubt gauge back to 0',
    });
    expect(
      await metric('tillbus_edc_command_late_results_total{command="Purchase",outcome="SUCCESS"}'),
    ).toMatch(/ [1-9]/);
    expect((await sim.executed(deviceId)).filter((c) => c.commandName === 'Purchase')).toHaveLength(
      1,
    );
  });

  it('after a device restart mid-payment, recovers the charge', async () => {
    const deviceId = bridge().device();
    await sim.control({
      op: 'faults',
      deviceId,
      faults: { holdAt: 'START_TRANSACTION', lastTransactionRequestId: true },
    });
    const requestId = newRequestId('reboot');
    await submitted(deviceId, requestId);
    await waitFor(async () => (await phase(deviceId, requestId)) === 'START_TRANSACTION');
    await sim.control({ op: 'restartDevice', deviceId, charged: true });
    const outcome = await pos.outcome(deviceId, requestId);
    expect(outcome).toMatchObject({ phase: 'succeeded', resolution: 'recovery' });
    expect(pos.eventsOf(deviceId, requestId).map((e) => e.code)).toContain('DEVICE_INITIALIZE');
    expect(await pos.get(deviceId, requestId)).toMatchObject({ unknownCause: 'unknown_answer' });
  });
});

describe('timers', () => {
  it('gives a signed Purchase its 115 s, and the signature countdown its 20 s', async () => {
    const deviceId = bridge().device();
    await sim.control({ op: 'faults', deviceId, faults: { holdAt: 'PENDING_SIGNATURE' } });
    const requestId = newRequestId('sign');
    await submitted(deviceId, requestId, '60000');
    await waitFor(async () => (await phase(deviceId, requestId)) === 'PENDING_SIGNATURE');
    const view = await pos.get(deviceId, requestId);
    expect(view.countdownEndsAt! - view.lastDeviceEvent!.at).toBe(20_000);
    clock.advance(100_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await phase(deviceId, requestId)).toBe('PENDING_SIGNATURE');
    await sim.control({ op: 'release', deviceId });
    expect(await pos.outcome(deviceId, requestId)).toMatchObject({
      outcome: 'SUCCESS',
      resolution: 'device',
    });
  });

  it('honours paymentExpiryTime: no card before the countdown ends sends CommandCancel', async () => {
    const deviceId = bridge().device();
    await sim.control({ op: 'faults', deviceId, faults: { holdAt: 'READY' } });
    const requestId = newRequestId('nocard');
    await submitted(deviceId, requestId, '104', { paymentExpiryTime: '45' });
    await waitFor(async () => (await phase(deviceId, requestId)) === 'READY');
    clock.advance(31_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await phase(deviceId, requestId)).toBe('READY');
    clock.advance(15_000);
    expect(await pos.outcome(deviceId, requestId)).toMatchObject({
      phase: 'cancelled',
      outcome: 'FAILED',
    });
    expect((await sim.executed(deviceId)).map((c) => c.commandName)).toEqual([
      'Purchase',
      'CommandCancel',
    ]);
  });
});

describe('bridges', () => {
  it('refuses a command to an offline bridge at once, without sending it', async () => {
    const { bridgeId, device } = bridge();
    const deviceId = device();
    await sim.control({ op: 'bridgeOnline', bridgeId, online: false });
    // 3 heartbeat intervals (1 s in these tests) of silence, on the wall clock the bridge beats on
    await waitFor(() => replica.engine.presence.device(deviceId).state === 'offline');
    const before = (await sim.control<{ counters: { commandsReceived: number } }>({ op: 'stats' }))
      .counters.commandsReceived;
    const refused = await pos.refusal(SUBJECTS.edc.submit, purchase(deviceId, newRequestId('off')));
    expect(refused).toMatchObject({ code: 'BRIDGE_OFFLINE', details: { deviceId, bridgeId } });
    const after = (await sim.control<{ counters: { commandsReceived: number } }>({ op: 'stats' }))
      .counters.commandsReceived;
    expect(after).toBe(before);
    const unknown = await pos.refusal(
      SUBJECTS.edc.submit,
      purchase('never-seen', newRequestId('x')),
    );
    expect(unknown.code).toBe('BRIDGE_OFFLINE');
    await sim.control({ op: 'bridgeOnline', bridgeId, online: true });
    await bridgeKnown(replica, deviceId);
    const requestId = newRequestId('back');
    used.push({ deviceId, requestId });
    expect(await pos.submitAndWait(purchase(deviceId, requestId))).toMatchObject({
      outcome: 'SUCCESS',
    });
  });

  it('times out a command whose bridge goes silent, waits for it, and settles it when it is back', async () => {
    const { bridgeId, device } = bridge();
    const deviceId = device();
    await sim.control({
      op: 'faults',
      deviceId,
      faults: { holdAt: 'START_TRANSACTION', lastTransactionRequestId: true },
    });
    const requestId = newRequestId('silent');
    await submitted(deviceId, requestId);
    await waitFor(async () => (await phase(deviceId, requestId)) === 'START_TRANSACTION');
    await sim.control({ op: 'bridgeOnline', bridgeId, online: false });
    await waitFor(async () => (await phase(deviceId, requestId)) === 'timed_out');
    expect(await pos.get(deviceId, requestId)).toMatchObject({
      unknownCause: 'bridge_lost',
      recoveryAttempts: 0,
    });
    // the payment completes while the bridge is away; its result waits in the bridge's outbox
    await sim.control({ op: 'release', deviceId });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await phase(deviceId, requestId)).toBe('timed_out');
    await sim.control({ op: 'bridgeOnline', bridgeId, online: true });
    const outcome = await pos.outcome(deviceId, requestId);
    expect(outcome).toMatchObject({ phase: 'succeeded', outcome: 'SUCCESS' });
    expect(['late_device', 'recovery']).toContain(outcome.resolution);
    expect((await sim.executed(deviceId)).filter((c) => c.commandName === 'Purchase')).toHaveLength(
      1,
    );
  });
});

describe('a restarted replica', () => {
  it('resumes the timers and recovery of the commands it owned', async () => {
    const deviceId = bridge().device();
    await sim.control({
      op: 'faults',
      deviceId,
      faults: { dropResults: 1, lastTransactionRequestId: true },
    });
    const requestId = newRequestId('resume');
    await submitted(deviceId, requestId);
    await paidButLost(deviceId, requestId);
    const logs = replica.logs;
    await replica.close();
    replica = await startReplica(nats.url, clock, 'rc-replica');
    replica.logs.unshift(...logs);
    expect(replica.engine.ownedCount()).toBeGreaterThanOrEqual(1);
    expect(await metric('tillbus_edc_command_adoptions_total{reason="restart"}')).toMatch(/ [1-9]/);
    clock.advance(95_000);
    expect(await pos.outcome(deviceId, requestId)).toMatchObject({
      phase: 'succeeded',
      resolution: 'recovery',
    });
  });
});

describe('private data', () => {
  it('refuses card data from a bridge and never logs it', async () => {
    const deviceId = bridge().device();
    await bridgeKnown(replica, deviceId);
    const js = jetstream(pos.nc);
    const requestId = newRequestId('leak');
    used.push({ deviceId, requestId });
    await pos.submit(purchase(deviceId, requestId, '104'));
    await pos.outcome(deviceId, requestId);
    const leaky = {
      v: 1,
      type: 'result',
      deviceId,
      requestId,
      commandName: 'Purchase',
      seq: 99,
      sentAt: Date.now(),
      body: {
        callback: 'onSuccess',
        responseData: { cardNumber: '4111111111111111', track2: ';4111111111111111=2512' },
      },
    };
    await js.publish(kiccBridgeSubject('events', deviceId), JSON.stringify(leaky), {
      msgID: `${requestId}:99`,
    });
    await waitFor(() =>
      replica.logs.some(
        (line) => line.includes('refused a bridge message') && line.includes('CARD_DATA_REFUSED'),
      ),
    );
    // a failure message quoting a card number is masked before it is kept or shown
    const masked = newRequestId('masked');
    await sim.control({ op: 'faults', deviceId, faults: { holdAt: 'READY' } });
    used.push({ deviceId, requestId: masked });
    await pos.submit(purchase(deviceId, masked));
    await waitFor(async () => (await phase(deviceId, masked)) === 'READY');
    await js.publish(
      kiccBridgeSubject('events', deviceId),
      JSON.stringify({
        v: 1,
        type: 'result',
        deviceId,
        requestId: masked,
        commandName: 'Purchase',
        seq: 50,
        sentAt: Date.now(),
        body: {
          callback: 'onBusinessFailed',
          failure: { code: 'INVALID_CARD_NUMBER', message: 'card 4111 1111 1111 1111 refused' },
        },
      }),
    );
    const outcome = await pos.outcome(deviceId, masked);
    expect(outcome).toMatchObject({ outcome: 'FAILED', failure: { code: 'INVALID_CARD_NUMBER' } });
    expect(outcome.message).toContain('[redacted]');
    await sim.control({ op: 'release', deviceId });
  });

  it('never logs or publishes acquirerMetaData, signData or card data beyond the BIN', async () => {
    // a signed purchase carries signData; a refund carries the purchase's acquirerMetaData in its params
    const deviceId = bridge().device();
    const signed = newRequestId('signed');
    used.push({ deviceId, requestId: signed });
    await pos.submitAndWait(purchase(deviceId, signed, '70000'));
    const refund = newRequestId('refund');
    used.push({ deviceId, requestId: refund });
    await pos.submitAndWait({
      deviceId,
      requestId: refund,
      commandName: 'PurchaseCancel',
      purchase: { deviceId, requestId: signed },
      params: {
        paymentAmount: { value: '70000', currency: 'KRW' },
        tipAmount: { value: '0', currency: 'KRW' },
      },
    });
    const secrets = await privateValues(pos, used);
    expect(secrets.length).toBeGreaterThanOrEqual(used.length / 2);
    const published = JSON.stringify(pos.events);
    const logged = replica.logs.join('\n');
    for (const secret of secrets) {
      expect(published).not.toContain(secret);
      expect(logged).not.toContain(secret);
    }
    for (const text of [published, logged]) {
      expect(text).not.toContain('4111111111111111');
      expect(text).not.toContain('4111 1111 1111 1111');
      expect(text).not.toMatch(/acquirerMetaData"\s*:\s*"[^"[]/);
      expect(text).not.toMatch(/signData"\s*:\s*"[^"[]/);
    }
    const bins = [...published.matchAll(/"cardBin":"(\d*)"/g)].map((m) => m[1]);
    expect(bins.length).toBeGreaterThan(0);
    for (const bin of bins) expect(bin).toMatch(/^\d{6,8}$/);
  });
});

describe('bad bridge traffic', () => {
  it('is refused, counted and survived, whatever a bridge sends', async () => {
    const deviceId = bridge().device();
    const js = jetstream(pos.nc);
    const subject = kiccBridgeSubject('events', deviceId);
    const garbage = [
      'not json',
      '[]',
      '{"v":2,"type":"event"}',
      JSON.stringify({ v: 1, type: 'heartbeat', bridgeId: 'x', seq: 1, sentAt: 1, body: {} }),
      JSON.stringify({
        v: 1,
        type: 'event',
        deviceId: 'other',
        requestId: 'r',
        commandName: 'Purchase',
        seq: 1,
        sentAt: 1,
        body: { code: 'READY' },
      }),
      JSON.stringify({
        v: 1,
        type: 'event',
        deviceId,
        requestId: 'r',
        commandName: 'Purchase',
        seq: 1,
        sentAt: 1,
        body: { code: 'NOPE' },
      }),
      JSON.stringify({
        v: 1,
        type: 'result',
        deviceId,
        requestId: 'never-submitted',
        commandName: 'Purchase',
        seq: 1,
        sentAt: 1,
        body: { callback: 'onSuccess', responseData: {} },
      }),
    ];
    for (const [index, data] of garbage.entries()) {
      await js.publish(subject, data, { msgID: `garbage-${Date.now()}-${index}` });
      pos.nc.publish(`tillbus.edc.bridge.heartbeat.${deviceId}`, data);
    }
    await waitFor(async () =>
      /bridge_messages_total\{type="result",result="unknown_command"\} [1-9]/.test(
        await replica.metrics(),
      ),
    );
    const text = await replica.metrics();
    expect(text).toMatch(
      /tillbus_edc_command_bridge_messages_total\{type="unknown",result="invalid"\} [1-9]/,
    );
    expect(text).toMatch(
      /tillbus_edc_command_bridge_messages_total\{type="heartbeat",result="invalid"\} [1-9]/,
    );
    const requestId = newRequestId('after-garbage');
    used.push({ deviceId, requestId });
    expect(await pos.submitAndWait(purchase(deviceId, requestId))).toMatchObject({
      outcome: 'SUCCESS',
    });
  });
});

describe('metrics', () => {
  it('serves every edc-command metric, clean for promtool', async () => {
    const text = await replica.metrics();
    for (const name of [
      'tillbus_edc_command_commands_total',
      'tillbus_edc_command_duration_seconds',
      'tillbus_edc_command_timeouts_total',
      'tillbus_edc_command_busy_rejections_total',
      'tillbus_edc_command_rejections_total',
      'tillbus_edc_command_recoveries_total',
      'tillbus_edc_command_late_results_total',
      'tillbus_edc_command_cancels_total',
      'tillbus_edc_command_bridge_messages_total',
      'tillbus_edc_command_anomalies_total',
      'tillbus_edc_command_adoptions_total',
      'tillbus_edc_command_event_publish_failures_total',
      'tillbus_edc_command_in_doubt',
      'tillbus_edc_command_bridges_connected',
      'tillbus_edc_command_owned_commands',
      'tillbus_edc_command_settlements_total',
      'tillbus_edc_command_settlement_conflicts_total',
      'tillbus_edc_command_baselines_total',
    ]) {
      expect(text).toContain(`# HELP ${name} `);
    }
    expect(text).toMatch(
      /tillbus_edc_command_commands_total\{command="Purchase",outcome="SUCCESS"\} [1-9]/,
    );
    expect(text).toMatch(/tillbus_edc_command_bridges_connected [1-9]/);
    expect(text).not.toMatch(/rc-b\d+-d\d/);
    expect(promtoolCheckMetrics(text)).toEqual({ ok: true, output: '' });
  });
});
