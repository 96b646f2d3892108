import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { EVENT_SUBJECTS, type EdcPublicEvent, STREAMS } from '@tillbus/contracts';
import { ShiftableClock } from '@tillbus/messaging';
import { waitFor } from '@tillbus/testing';
import { Kvm } from '@nats-io/kv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUCKETS } from '../src/store/keys';
import {
  newRequestId,
  purchase,
  startOneReplicaStack,
  startReplica,
  type OneReplicaStack,
  type Replica,
} from './support';

/**
 * Issue 17, defect 3: a public command event was lost after a broker restart (the stream answered with timeouts
 * for longer than the old retry schedule, which gave up after ~6.3 s). Here TILLBUS_EDC refuses every event for
 * 14 s, twice that schedule: the stream must still end up with seq 1..n of the command, each once, in order.
 */
const REFUSAL_MS = 14_000;

const clock = new ShiftableClock();
let stack: OneReplicaStack;
let jsm: JetStreamManager;
let taker: Replica | undefined;
let ownerStopped = false;

beforeAll(async () => {
  stack = await startOneReplicaStack(clock, 'eo', { bridges: 4, devices: 2 }, [0, 0]);
  jsm = await jetstreamManager(stack.pos.nc);
}, 120_000);

afterAll(async () => {
  await taker?.close();
  if (!ownerStopped) return stack?.close();
  await stack.sim.close();
  await stack.pos.close();
  await stack.nats.dispose();
});

/**
 * TILLBUS_EDC stops taking the command events: it captures other subjects, and a stand-in answers every publish
 * with the error the stream gives when it cannot store (an immediate refusal, not a 5 s timeout per attempt: the
 * POS's own subscription would make a missing stream look like a timeout). Returns the undo.
 */
async function refuseEvents(nc: NatsConnection): Promise<() => Promise<void>> {
  const config = (await jsm.streams.info(STREAMS.edc)).config;
  await jsm.streams.update(STREAMS.edc, { subjects: ['tillbus.test.edc-refused.>'] });
  const refusing: Subscription = nc.subscribe(EVENT_SUBJECTS.edcAll, {
    callback: (_error, msg) => {
      if (msg.reply)
        msg.respond(
          JSON.stringify({
            error: { code: 503, err_code: 10077, description: 'refused by the test' },
          }),
        );
    },
  });
  await nc.flush();
  return async () => {
    await jsm.streams.update(STREAMS.edc, { subjects: config.subjects });
    refusing.unsubscribe();
    await nc.flush();
  };
}

/** Every event of the command the stream holds, in stream order. */
async function storedEvents(deviceId: string, requestId: string): Promise<EdcPublicEvent[]> {
  const subject = EVENT_SUBJECTS.edc(deviceId, requestId);
  const { state } = await jsm.streams.info(STREAMS.edc);
  const events: EdcPublicEvent[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
    const msg = await jsm.streams.getMessage(STREAMS.edc, { seq });
    if (msg?.subject === subject) events.push(msg.json<EdcPublicEvent>());
  }
  return events;
}

async function settledRecord(deviceId: string, requestId: string) {
  return waitFor(
    async () => {
      const record = await stack.pos.stored(deviceId, requestId);
      return record?.kind === 'command' && record.lifecycle.phase === 'succeeded'
        ? record
        : undefined;
    },
    { timeoutMs: 30_000, what: `${requestId} to succeed` },
  );
}

/** The stream holds seq 1..eventSeq of the command, each once and in order. */
async function expectEveryEventOnce(deviceId: string, requestId: string, timeoutMs: number) {
  const record = await settledRecord(deviceId, requestId);
  const seqs = await waitFor(
    async () => {
      const stored = (await storedEvents(deviceId, requestId)).map((event) => event.seq);
      return stored.length >= record.eventSeq ? stored : undefined;
    },
    { timeoutMs, what: `the ${record.eventSeq} events of ${requestId} in the stream` },
  );
  expect(record.eventSeq).toBeGreaterThanOrEqual(3);
  expect(seqs).toEqual(Array.from({ length: record.eventSeq }, (_, i) => i + 1));
}

describe('public command events while TILLBUS_EDC refuses them', () => {
  it('all reach the stream, once and in order, once it takes them again (the old schedule gave up)', async () => {
    const deviceId = stack.sim.device(0, 0);
    const requestId = newRequestId('eo-refused');
    await stack.pos.submit(purchase(deviceId, requestId));
    // the first event is in; the ones after it are refused, as after the broker restart of the issue
    await waitFor(async () => (await storedEvents(deviceId, requestId)).length >= 1, {
      what: 'the first event in the stream',
    });
    const restore = await refuseEvents(stack.pos.nc);
    const refusedAt = Date.now();
    await settledRecord(deviceId, requestId);
    await new Promise((resolve) => setTimeout(resolve, REFUSAL_MS - (Date.now() - refusedAt)));
    await restore();
    // the outbox retries every 2 s at most
    await expectEveryEventOnce(deviceId, requestId, 10_000);
    // the device is free again (it was held until the stream had the command's events)
    const devices = await new Kvm(stack.pos.nc).open(BUCKETS.devices);
    await waitFor(
      async () => (await devices.get(deviceId))?.json<{ holder: unknown }>().holder === null,
      {
        what: 'the device released',
      },
    );
  }, 90_000);

  it('a replica that takes over publishes the events its stopped owner could not', async () => {
    const deviceId = stack.sim.device(1, 0);
    const requestId = newRequestId('eo-takeover');
    const restore = await refuseEvents(stack.pos.nc);
    await stack.pos.submit(purchase(deviceId, requestId));
    const record = await settledRecord(deviceId, requestId);
    // still in the record: nothing of the command reached the stream
    expect(record.outbox.map((event) => event.seq)).toEqual(
      Array.from({ length: record.eventSeq }, (_, i) => i + 1),
    );
    ownerStopped = true;
    await stack.replica.close();
    await restore();
    expect(await storedEvents(deviceId, requestId)).toEqual([]);
    taker = await startReplica(stack.nats.url, clock, 'eo-taker');
    await expectEveryEventOnce(deviceId, requestId, 20_000);
  }, 90_000);
});
