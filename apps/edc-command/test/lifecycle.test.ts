import fc from 'fast-check';
import { BusRequestError, SUBJECTS } from '@tillbus/contracts';
import { ShiftableClock } from '@tillbus/messaging';
import {
  KICC_BUSINESS_FAILURE_CODES,
  KICC_COMMAND_FAILURE_CODES,
  kiccBusinessFailureOutcome,
  kiccCommandFailureOutcome,
} from '@tillbus/result-codes';
import { waitFor } from '@tillbus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredCommand } from '../src/record/model';
import {
  newRequestId,
  purchase,
  purchaseCancel,
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
/** Devices handed out one per test, so tests never share a device's state. */
let nextDevice = 0;
const device = () => sim.device(Math.floor(nextDevice / 8), nextDevice++ % 8);

let stack: OneReplicaStack;
beforeAll(async () => {
  stack = await startOneReplicaStack(clock, 'lc', { bridges: 6, devices: 8 }, [0, 0]);
  ({ sim, replica, pos } = stack);
}, 120_000);

afterAll(() => stack?.close());

const phases = (deviceId: string, requestId: string) =>
  pos
    .eventsOf(deviceId, requestId)
    .map((e) => (e.type === 'device_event' ? e.code : `${e.type}:${e.phase}`));

describe('Purchase', () => {
  it('runs from submit to the outcome, with every device event and the result without private fields', async () => {
    const deviceId = device();
    const requestId = newRequestId('p');
    const accepted = await pos.submit(purchase(deviceId, requestId));
    expect(accepted).toMatchObject({
      deviceId,
      requestId,
      commandName: 'Purchase',
      phase: 'sent',
      outcome: null,
    });
    expect(accepted.deadlineAt! - accepted.sentAt!).toBe(95_000);
    const outcome = await pos.outcome(deviceId, requestId);
    expect(phases(deviceId, requestId)).toEqual([
      'phase:sent',
      'READY',
      'CARD_DETECTED',
      'CARD_READ_COMPLETED',
      'START_TRANSACTION',
      'outcome:succeeded',
    ]);
    expect(outcome).toMatchObject({ outcome: 'SUCCESS', final: true, resolution: 'device' });
    expect(outcome.result).toMatchObject({
      requestId,
      paymentAmount: { value: '104', currency: 'KRW' },
      result: { resultCode: 'SUCCESS' },
      acquirerInfo: { acquirerName: 'KICC', acquirerMerchantId: '608525310521' },
      paymentResultInfo: { cardBin: '52364979' },
    });
    expect((outcome.result!.acquirerInfo as Record<string, unknown>).acquirerApprovalNum).toMatch(
      /^\d{8}$/,
    );
    expect(outcome.result!.acquirerInfo).not.toHaveProperty('acquirerMetaData');
    expect(outcome.result!.paymentResultInfo).not.toHaveProperty('paymentMethodId');
    const view = await pos.get(deviceId, requestId);
    expect(view).toMatchObject({
      phase: 'succeeded',
      outcome: 'SUCCESS',
      final: true,
      lastDeviceEvent: { code: 'START_TRANSACTION' },
    });
    expect(view.result!.acquirerInfo).not.toHaveProperty('acquirerMetaData');
    // the record keeps acquirerMetaData for a later PurchaseCancel
    const stored = await pos.stored(deviceId, requestId);
    expect(stored).toMatchObject({
      kind: 'command',
      result: { acquirerInfo: { acquirerMetaData: expect.any(String) } },
    });
    expect(await sim.executed(deviceId)).toEqual([
      expect.objectContaining({ requestId, commandName: 'Purchase' }),
    ]);
  });

  it('asks for a signature above 50,000 KRW and gives it the 115 s timeout', async () => {
    const deviceId = device();
    const requestId = newRequestId('sig');
    const accepted = await pos.submit(purchase(deviceId, requestId, '50001'));
    expect(accepted.deadlineAt! - accepted.sentAt!).toBe(115_000);
    await pos.outcome(deviceId, requestId);
    expect(phases(deviceId, requestId)).toContain('PENDING_SIGNATURE');
    const at50k = newRequestId('at50k');
    const exactly = await pos.submit(purchase(device(), at50k, '50000'));
    expect(exactly.deadlineAt! - exactly.sentAt!).toBe(95_000);
  });

  it('answers submit-and-wait with the outcome', async () => {
    const deviceId = device();
    const view = await pos.submitAndWait({
      ...purchase(deviceId, newRequestId('wait')),
      waitMs: 20_000,
    });
    expect(view).toMatchObject({ phase: 'succeeded', outcome: 'SUCCESS', final: true });
  });

  const codes = [
    ...KICC_BUSINESS_FAILURE_CODES.map((code, index) => ({
      code,
      amount: String(900 + index),
      outcome: kiccBusinessFailureOutcome(code, 'Purchase'),
    })),
    ...KICC_COMMAND_FAILURE_CODES.map((code, index) => ({
      code,
      amount: String(950 + index),
      outcome: kiccCommandFailureOutcome(code, 'Purchase'),
    })),
  ];

  it(`maps every failure code of the seed (${codes.length}) to its outcome; unknown ones are recovered`, async () => {
    const runs = await Promise.all(
      codes.map(async ({ code, amount, outcome }) => {
        const deviceId = device();
        await sim.control({ op: 'faults', deviceId, faults: { lastTransactionRequestId: true } });
        const requestId = newRequestId(`code-${code}`);
        await pos.submit(purchase(deviceId, requestId, amount));
        const event = await pos.outcome(deviceId, requestId, 30_000);
        return { code, expected: outcome, event, view: await pos.get(deviceId, requestId) };
      }),
    );
    for (const { code, expected, event, view } of runs) {
      if (expected === 'UNKNOWN') {
        // the answer says nothing about the money: GetLastTransaction decides (the simulator charged the card
        // for a lost or garbled answer, and declined it for REPEAT_REQ_REJECT and UNKNOWN)
        const charged = code === 'CommandResponseTimeout' || code === 'CommandInvalidResponse';
        expect({ code, phase: view.phase, resolution: view.resolution }).toEqual({
          code,
          phase: charged ? 'succeeded' : 'in_doubt',
          resolution: charged ? 'recovery' : null,
        });
        expect(view.recoveryAttempts).toBe(1);
      } else {
        expect({ code, outcome: event.outcome, failure: event.failure?.code }).toEqual({
          code,
          outcome: expected,
          failure: code,
        });
      }
    }
  });
});

describe('PurchaseCancel and GetLastTransaction', () => {
  it('cancels a Purchase with the acquirerMetaData of its record, which the POS never sees', async () => {
    const deviceId = device();
    const purchaseId = newRequestId('paid');
    await pos.submitAndWait(purchase(deviceId, purchaseId));
    const cancelId = newRequestId('refund');
    const accepted = await pos.submit(purchaseCancel(deviceId, cancelId, purchaseId));
    expect(accepted.deadlineAt! - accepted.sentAt!).toBe(85_000);
    await pos.outcome(deviceId, cancelId);
    const view = await pos.get(deviceId, cancelId);
    expect(view).toMatchObject({
      commandName: 'PurchaseCancel',
      phase: 'succeeded',
      outcome: 'SUCCESS',
    });
    expect(view.deadlineAt).toBeNull();
    expect(phases(deviceId, cancelId)).toEqual([
      'phase:sent',
      'START_TRANSACTION',
      'outcome:succeeded',
    ]);
    const paid = (await pos.stored(deviceId, purchaseId)) as StoredCommand;
    const refund = (await pos.stored(deviceId, cancelId)) as StoredCommand;
    const metaData = (paid.result!.acquirerInfo as { acquirerMetaData: string }).acquirerMetaData;
    expect(metaData).toMatch(/^[A-Za-z0-9+/=]{20,}$/);
    expect((refund.params.acquirerInfo as { acquirerMetaData: string }).acquirerMetaData).toBe(
      metaData,
    );
    expect(JSON.stringify(view)).not.toContain(metaData);
  });

  it('refuses a PurchaseCancel of a Purchase that did not succeed, or that does not exist', async () => {
    const deviceId = device();
    const declined = newRequestId('declined');
    await pos.submitAndWait(purchase(deviceId, declined, '903'));
    const refused = await pos.refusal(
      SUBJECTS.edc.submit,
      purchaseCancel(deviceId, newRequestId('c'), declined),
    );
    expect(refused.code).toBe('ORDER_STATUS_INVALID');
    expect(
      (await pos.refusal(SUBJECTS.edc.submit, purchaseCancel(deviceId, newRequestId('c'), 'nope')))
        .code,
    ).toBe('NOT_FOUND');
  });

  it('runs a stand-alone GetLastTransaction', async () => {
    const deviceId = device();
    const paid = newRequestId('paid');
    await pos.submitAndWait(purchase(deviceId, paid, '777'));
    const gltId = newRequestId('glt');
    const accepted = await pos.submit({
      deviceId,
      requestId: gltId,
      commandName: 'GetLastTransaction',
      params: {},
    });
    if (accepted.outcome === null) expect(accepted.deadlineAt! - accepted.sentAt!).toBe(5_000);
    await pos.outcome(deviceId, gltId);
    const view = await pos.get(deviceId, gltId);
    expect(view).toMatchObject({
      commandName: 'GetLastTransaction',
      phase: 'succeeded',
      outcome: 'SUCCESS',
      result: { responseCommand: 'Purchase', paymentAmount: { value: '777' } },
    });
    expect(view.result!.acquirerInfo).not.toHaveProperty('acquirerMetaData');
  });
});

describe('CommandCancel', () => {
  it('cancels before the card is read', async () => {
    const deviceId = device();
    await sim.control({ op: 'faults', deviceId, faults: { holdAt: 'CARD_DETECTED' } });
    const requestId = newRequestId('p');
    await pos.submit(purchase(deviceId, requestId));
    await waitFor(() => phases(deviceId, requestId).includes('CARD_DETECTED'));
    const cancelId = newRequestId('cancel');
    const cancel = await pos.submit({
      deviceId,
      requestId: cancelId,
      commandName: 'CommandCancel',
      params: {},
    });
    expect(cancel).toMatchObject({
      commandName: 'CommandCancel',
      phase: 'sent',
      targetRequestId: requestId,
    });
    expect(cancel.deadlineAt! - cancel.acceptedAt).toBe(5_000);
    const outcome = await pos.outcome(deviceId, requestId);
    expect(outcome).toMatchObject({ phase: 'cancelled', outcome: 'FAILED', resolution: 'cancel' });
    expect(phases(deviceId, requestId)).toEqual(
      expect.arrayContaining(['cancel:CARD_DETECTED', 'CANCELLING', 'outcome:cancelled']),
    );
    await waitFor(async () => (await pos.get(deviceId, cancelId)).phase === 'succeeded');
    expect(await pos.get(deviceId, requestId)).toMatchObject({
      phase: 'cancelled',
      cancel: { status: 'pending', requestId: cancelId },
    });
  });

  it('refuses a cancel after the card was read with the vendor CommandInvalid meaning, and the payment goes on', async () => {
    const deviceId = device();
    await sim.control({ op: 'faults', deviceId, faults: { holdAt: 'CARD_READ_COMPLETED' } });
    const requestId = newRequestId('p');
    await pos.submit(purchase(deviceId, requestId));
    await waitFor(async () => (await pos.get(deviceId, requestId)).phase === 'CARD_READ_COMPLETED');
    const refused = await pos.refusal(SUBJECTS.edc.submit, {
      deviceId,
      requestId: newRequestId('late-cancel'),
      commandName: 'CommandCancel',
      params: {},
      targetRequestId: requestId,
    });
    expect(refused.code).toBe('CommandInvalid');
    expect(refused.message).toContain('CommandInvalid: Invalid command');
    expect(refused.message).toContain('CommandCancel can only be used before reading the card');
    expect(refused.details).toMatchObject({
      vendorCode: 'CommandInvalid',
      phase: 'CARD_READ_COMPLETED',
      targetRequestId: requestId,
    });
    await sim.control({ op: 'release', deviceId });
    expect(await pos.outcome(deviceId, requestId)).toMatchObject({ outcome: 'SUCCESS' });
    expect((await sim.executed(deviceId)).map((c) => c.commandName)).toEqual(['Purchase']);
  });

  it('records the device refusing a cancel that lost the race with the card', async () => {
    const deviceId = device();
    await sim.control({ op: 'faults', deviceId, faults: { holdAt: 'CARD_DETECTED' } });
    const requestId = newRequestId('p');
    await pos.submit(purchase(deviceId, requestId));
    await waitFor(async () => (await pos.get(deviceId, requestId)).phase === 'CARD_DETECTED');
    // the device reads the card while the cancel is on its way: hold there, release, then cancel
    await sim.control({ op: 'faults', deviceId, faults: { holdAt: 'START_TRANSACTION' } });
    await sim.control({ op: 'release', deviceId });
    await waitFor(
      async () =>
        (await sim.control<{ running: { phase: string } }>({ op: 'device', deviceId })).running
          .phase === 'START_TRANSACTION',
    );
    const cancelId = newRequestId('race');
    // the service has not applied CARD_READ_COMPLETED yet only if it is slow; either way the cancel must not win
    const answer = await pos
      .submit({ deviceId, requestId: cancelId, commandName: 'CommandCancel', params: {} })
      .catch((e: { code: string }) => e);
    if ('code' in answer) expect(answer.code).toBe('CommandInvalid');
    await sim.control({ op: 'release', deviceId });
    expect(await pos.outcome(deviceId, requestId)).toMatchObject({ outcome: 'SUCCESS' });
  });

  it('says NOT_RUNNING when nothing runs', async () => {
    const refused = await pos.refusal(SUBJECTS.edc.submit, {
      deviceId: device(),
      requestId: newRequestId('c'),
      commandName: 'CommandCancel',
      params: {},
    });
    expect(refused.code).toBe('NOT_RUNNING');
  });
});

describe('submit', () => {
  it('is idempotent: the same requestId and params return the command, never a second dispatch', async () => {
    const deviceId = device();
    await sim.control({ op: 'faults', deviceId, faults: { holdAt: 'READY' } });
    const requestId = newRequestId('idem');
    const first = await pos.submit(purchase(deviceId, requestId));
    const again = await Promise.all([1, 2, 3].map(() => pos.submit(purchase(deviceId, requestId))));
    for (const view of again)
      expect(view).toMatchObject({
        requestId,
        commandName: 'Purchase',
        acceptedAt: first.acceptedAt,
      });
    const different = await pos.refusal(SUBJECTS.edc.submit, purchase(deviceId, requestId, '105'));
    expect(different.code).toBe('REPEAT_REQ_REJECT');
    await sim.control({ op: 'release', deviceId });
    await pos.outcome(deviceId, requestId);
    expect(await pos.submit(purchase(deviceId, requestId))).toMatchObject({ phase: 'succeeded' });
    expect(await sim.executed(deviceId)).toHaveLength(1);
  });

  it('refuses a second command on a busy device with DEVICE_BUSY, and takes one after the outcome', async () => {
    const deviceId = device();
    await sim.control({ op: 'faults', deviceId, faults: { holdAt: 'READY' } });
    const first = newRequestId('first');
    await pos.submit(purchase(deviceId, first));
    const busy = await pos.refusal(SUBJECTS.edc.submit, purchase(deviceId, newRequestId('second')));
    expect(busy.code).toBe('DEVICE_BUSY');
    expect(busy.details).toMatchObject({ source: 'lock', runningRequestId: first });
    await sim.control({ op: 'release', deviceId });
    await pos.outcome(deviceId, first);
    await sim.control({ op: 'faults', deviceId, faults: { holdAt: null } });
    expect(await pos.submitAndWait(purchase(deviceId, newRequestId('third')))).toMatchObject({
      outcome: 'SUCCESS',
    });
  });

  it('passes on a device busy with a command tillbus did not send, and frees the requestId', async () => {
    const deviceId = device();
    await sim.control({ op: 'faults', deviceId, faults: { busyWith: 'foreign-1' } });
    const requestId = newRequestId('p');
    const busy = await pos.refusal(SUBJECTS.edc.submit, purchase(deviceId, requestId));
    expect(busy).toMatchObject({
      code: 'DEVICE_BUSY',
      details: { source: 'bridge', runningRequestId: 'foreign-1' },
    });
    await sim.control({ op: 'faults', deviceId, faults: { busyWith: null } });
    expect(await pos.submitAndWait(purchase(deviceId, requestId))).toMatchObject({
      outcome: 'SUCCESS',
    });
  });

  it('refuses a device whose SDK is not initialised', async () => {
    const deviceId = device();
    await sim.control({ op: 'faults', deviceId, faults: { init: 'INIT_FAILED' } });
    await waitFor(
      () =>
        replica.engine.presence.device(deviceId).state === 'online' &&
        (replica.engine.presence.device(deviceId) as { init: string }).init === 'INIT_FAILED',
    );
    const refused = await pos.refusal(SUBJECTS.edc.submit, purchase(deviceId, newRequestId('p')));
    expect(refused).toMatchObject({ code: 'DEVICE_NOT_READY', details: { init: 'INIT_FAILED' } });
  });

  it.each([
    [{ deviceId: 'a.b', requestId: 'r1', commandName: 'Purchase', params: {} }, 'payload.deviceId'],
    [
      { deviceId: 'heartbeat', requestId: 'r1', commandName: 'Purchase', params: {} },
      'payload.deviceId',
    ],
    [
      { deviceId: 'd1', requestId: 'a b', commandName: 'Purchase', params: {} },
      'payload.requestId',
    ],
    [{ deviceId: 'd1', requestId: 'r1', commandName: 'Refund', params: {} }, 'payload.commandName'],
    [
      { deviceId: 'd1', requestId: 'r1', commandName: 'Purchase', params: {}, extra: 1 },
      'payload.extra',
    ],
  ])('names the bad field: %j', async (payload, field) => {
    const refused = await pos.refusal(SUBJECTS.edc.submit, payload);
    expect(refused.code).toBe('PARAM_ILLEGAL');
    expect(
      (refused.details as { violations: { field: string }[] }).violations.map((v) => v.field),
    ).toContain(field);
  });

  it.each([
    [
      'paymentAmount missing',
      (p: Record<string, unknown>) => delete p.paymentAmount,
      'payload.params.paymentAmount',
    ],
    [
      'amount not digits',
      (p: Record<string, unknown>) => (p.paymentAmount = { value: '1.5', currency: 'KRW' }),
      'payload.params.paymentAmount.value',
    ],
    [
      'a field the seed does not define',
      (p: Record<string, unknown>) => (p.note = 'x'),
      'payload.params.note',
    ],
    [
      'a card number',
      (p: Record<string, unknown>) => (p.cardNumber = '4111111111111111'),
      'payload.params.cardNumber',
    ],
    [
      'another requestId',
      (p: Record<string, unknown>) => (p.requestId = 'other'),
      'payload.params.requestId',
    ],
  ])('refuses params with %s', async (_label, mutate, field) => {
    const payload = purchase(device(), newRequestId('bad'));
    mutate(payload.params);
    const refused = await pos.refusal(SUBJECTS.edc.submit, payload);
    expect(refused.code).toBe('PARAM_ILLEGAL');
    expect(
      (refused.details as { violations: { field: string }[] }).violations.map((v) => v.field),
    ).toContain(field);
    expect(JSON.stringify(refused)).not.toContain('4111111111111111');
  });

  it('answers get for an unknown command with NOT_FOUND', async () => {
    expect(
      (await pos.refusal(SUBJECTS.edc.get, { deviceId: 'nobody', requestId: 'nothing' })).code,
    ).toBe('NOT_FOUND');
  });

  it('answers any payload with the command or a typed error, never an internal one', async () => {
    const devices = [device(), device(), 'no-such-device'];
    const expected = new Set([
      'PARAM_ILLEGAL',
      'NOT_FOUND',
      'DEVICE_BUSY',
      'REPEAT_REQ_REJECT',
      'BRIDGE_OFFLINE',
      'DEVICE_NOT_READY',
      'NOT_RUNNING',
      'ORDER_STATUS_INVALID',
      'CommandInvalid',
      'BRIDGE_REFUSED',
    ]);
    const payload = fc.record(
      {
        deviceId: fc.oneof(fc.constantFrom(...devices), fc.string()),
        requestId: fc.oneof(fc.stringMatching(/^[a-z0-9:-]{1,12}$/), fc.anything()),
        commandName: fc.oneof(
          fc.constantFrom('Purchase', 'PurchaseCancel', 'GetLastTransaction', 'CommandCancel'),
          fc.anything(),
        ),
        params: fc.oneof(
          fc.constant({}),
          fc.dictionary(fc.string(), fc.jsonValue()),
          fc.anything(),
        ),
        purchase: fc.anything(),
        targetRequestId: fc.anything(),
      },
      { requiredKeys: ['deviceId', 'requestId', 'commandName'] },
    );
    await fc.assert(
      fc.asyncProperty(payload, async (body) => {
        try {
          const view = await pos.submit(body as Record<string, unknown>);
          expect(view.deviceId).toBe(body.deviceId);
        } catch (error) {
          expect(error).toBeInstanceOf(BusRequestError);
          expect(expected).toContain((error as BusRequestError).code);
        }
      }),
      { numRuns: 150 },
    );
    expect(await pos.get(devices[0], 'still-answering').catch((e: BusRequestError) => e.code)).toBe(
      'NOT_FOUND',
    );
  });
});
