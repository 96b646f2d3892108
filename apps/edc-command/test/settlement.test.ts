import { type EdcCommandView, SUBJECTS } from '@tillbus/contracts';
import { requestJson, ShiftableClock } from '@tillbus/messaging';
import { waitFor } from '@tillbus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  newRequestId,
  purchase,
  startOneReplicaStack,
  type OneReplicaStack,
  type Pos,
  type Replica,
  type SimHandle,
} from './support';

let sim: SimHandle;
let replica: Replica;
let pos: Pos;
const clock = new ShiftableClock();

let stack: OneReplicaStack;
beforeAll(async () => {
  stack = await startOneReplicaStack(clock, 'st', { bridges: 2, devices: 2 }, [1, 1]);
  ({ sim, replica, pos } = stack);
}, 120_000);

afterAll(() => stack?.close());

async function metric(name: string): Promise<string> {
  return (await replica.metrics())
    .split('\n')
    .filter((line) => line.startsWith(name))
    .join('\n');
}

/** The device ran the payment: its result is lost (dropResults) or on its way (delayResultMs). */
async function deviceRan(deviceId: string, requestId: string): Promise<void> {
  await waitFor(
    async () =>
      (await sim.control<{ lastTransactionRequestId: string | null }>({ op: 'device', deviceId }))
        .lastTransactionRequestId === requestId,
    { what: `the device to run ${requestId}` },
  );
}

const settle = (payload: Record<string, unknown>) =>
  requestJson<EdcCommandView>({ connect: async () => pos.nc }, SUBJECTS.edc.settle, payload, {
    timeoutMs: 10_000,
  });

const by = { operator: 'alice', natsUser: 'operator' };

describe('a fresh device whose payment results are lost', () => {
  it('settles both payments (950, then 951) from the baseline read before each, none in doubt', async () => {
    const deviceId = sim.device(0, 0);
    await sim.control({
      op: 'faults',
      deviceId,
      faults: { dropResults: 2, lastTransactionRequestId: false },
    });
    for (const value of ['950', '951']) {
      const requestId = newRequestId(`first-${value}`);
      await pos.submit(purchase(deviceId, requestId, value));
      await deviceRan(deviceId, requestId);
      clock.advance(115_000);
      const outcome = await pos.outcome(deviceId, requestId);
      expect({ value, ...outcome }).toMatchObject({
        value,
        phase: 'succeeded',
        outcome: 'SUCCESS',
        resolution: 'recovery',
      });
      expect((await pos.get(deviceId, requestId)).result).toMatchObject({
        paymentAmount: { value },
      });
    }
    // one baseline before the first payment (the second knew the first's transaction), one recovery each
    expect((await sim.baselineReads(deviceId)).map((c) => c.commandName)).toEqual([
      'GetLastTransaction',
    ]);
    expect((await sim.executed(deviceId)).map((c) => c.commandName)).toEqual([
      'Purchase',
      'GetLastTransaction',
      'Purchase',
      'GetLastTransaction',
    ]);
    expect(await metric('tillbus_edc_command_baselines_total{result="none"}')).toMatch(/ 1$/);
    expect(await metric('tillbus_edc_command_in_doubt')).toMatch(/ 0$/m);
  });
});

describe('operator settlement', () => {
  it('is refused for a command that is not in doubt, and for one that does not exist', async () => {
    const deviceId = sim.device(0, 1);
    const requestId = newRequestId('paid');
    await pos.submitAndWait(purchase(deviceId, requestId));
    const refusal = await pos.refusal(SUBJECTS.edc.settle, {
      deviceId,
      requestId,
      outcome: 'FAILED',
      reason: 'looks wrong',
      ...by,
    });
    expect(refusal.code).toBe('NOT_IN_DOUBT');
    expect(await pos.get(deviceId, requestId)).toMatchObject({ phase: 'succeeded' });
    expect((await pos.get(deviceId, requestId)).settlement).toBeUndefined();
    const missing = await pos.refusal(SUBJECTS.edc.settle, {
      deviceId,
      requestId: 'nothing-here',
      outcome: 'FAILED',
      reason: 'looks wrong',
      ...by,
    });
    expect(missing.code).toBe('NOT_FOUND');
    const invalid = await pos.refusal(SUBJECTS.edc.settle, {
      deviceId,
      requestId,
      outcome: 'MAYBE',
      reason: 'x',
      ...by,
    });
    expect(invalid.code).toBe('PARAM_ILLEGAL');
  });

  it('settles a command in doubt with an audit record; a late result that disagrees is kept as a conflict and raises its metric', async () => {
    const deviceId = sim.device(1, 0);
    // a declined payment whose answer comes late: GetLastTransaction shows a failure, which proves nothing
    await sim.control({
      op: 'faults',
      deviceId,
      faults: { delayResultMs: 6_000, lastTransactionRequestId: false },
    });
    const requestId = newRequestId('doubt');
    await pos.submit(purchase(deviceId, requestId, '908'));
    await deviceRan(deviceId, requestId);
    clock.advance(95_000);
    expect(await pos.outcome(deviceId, requestId)).toMatchObject({ phase: 'in_doubt' });
    await waitFor(async () => /^tillbus_edc_command_in_doubt 1$/m.test(await replica.metrics()), {
      what: 'the in_doubt gauge',
    });

    const settled = await settle({
      deviceId,
      requestId,
      outcome: 'SUCCESS',
      reason: 'KICC portal shows it approved',
      approval: '16263485',
      ...by,
    });
    expect(settled).toMatchObject({
      phase: 'succeeded',
      outcome: 'SUCCESS',
      resolution: 'operator',
    });
    expect(settled.settlement).toMatchObject({
      outcome: 'SUCCESS',
      reason: 'KICC portal shows it approved',
      approval: '16263485',
      by,
      deviceLastSaid: {
        unknownCause: 'deadline',
        recoveryAttempts: 1,
        recoveryReason: 'a failure without requestId may be an older one',
      },
    });
    expect(settled.settlement!.at).toEqual(expect.any(Number));
    await waitFor(() =>
      pos
        .eventsOf(deviceId, requestId)
        .find((e) => e.type === 'outcome' && e.resolution === 'operator'),
    );
    expect(pos.eventsOf(deviceId, requestId)).toContainEqual(
      expect.objectContaining({ type: 'settlement', status: 'settled', outcome: 'SUCCESS' }),
    );
    await waitFor(async () => /^tillbus_edc_command_in_doubt 0$/m.test(await replica.metrics()), {
      what: 'the in_doubt gauge back to 0',
    });
    expect(await metric('tillbus_edc_command_settlements_total{outcome="SUCCESS"}')).toMatch(/ 1$/);
    const again = await pos.refusal(SUBJECTS.edc.settle, {
      deviceId,
      requestId,
      outcome: 'FAILED',
      reason: 'changed my mind',
      ...by,
    });
    expect(again.code).toBe('NOT_IN_DOUBT');

    // the device's declined result arrives now: it disagrees, and is kept beside the settlement
    const conflict = await waitFor(
      () =>
        pos
          .eventsOf(deviceId, requestId)
          .find((e) => e.type === 'settlement' && e.status === 'conflict'),
      { timeoutMs: 15_000, what: 'the settlement conflict event' },
    );
    expect(conflict).toMatchObject({ verdict: 'failed', code: 'USER_BALANCE_NOT_ENOUGH' });
    const view = await pos.get(deviceId, requestId);
    expect(view).toMatchObject({ phase: 'succeeded', resolution: 'operator' });
    expect(view.settlement?.conflict).toMatchObject({ verdict: 'failed' });
    expect(
      await metric('tillbus_edc_command_settlement_conflicts_total{command="Purchase"}'),
    ).toMatch(/ 1$/);
    expect(await metric('tillbus_edc_command_late_results_total')).not.toMatch(/ [1-9]/);
  });
});
