import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { EdcPublicEvent } from '@tillbus/contracts';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { EdcMetrics } from '../metrics';
import { trimOutbox, type WithEvents } from '../record/model';
import { EventPublisher, type WithPublicEvents } from './event-publisher';

const DEVICE = 'store1-edc1';
const REQUEST = 'r-1';

function event(seq: number): EdcPublicEvent {
  return {
    v: 1,
    seq,
    at: seq,
    deviceId: DEVICE,
    requestId: REQUEST,
    commandName: 'Purchase',
    type: 'phase',
    phase: 'sent',
  } as EdcPublicEvent;
}

/** A record whose outbox holds `seqs`, marked published through `through`. */
function record(seqs: number[], through = 0): WithPublicEvents {
  return {
    deviceId: DEVICE,
    requestId: REQUEST,
    eventSeq: Math.max(through, ...seqs),
    publishedThrough: through,
    outbox: seqs.map(event),
  };
}

/** A stream that refuses the next `refusals` publishes; it stores the seq of every event it acks (once per id). */
function fakeStream(initial: number[] = []) {
  const stored = [...initial];
  const state = { refusals: 0, lookups: 0 };
  const js = {
    publish: async (_subject: string, data: string) => {
      await new Promise((resolve) => setImmediate(resolve));
      if (state.refusals > 0) {
        state.refusals--;
        throw new Error('stream refused');
      }
      const { seq } = JSON.parse(data) as EdcPublicEvent;
      if (!stored.includes(seq)) stored.push(seq);
      return { seq: stored.length, duplicate: false, stream: 'TILLBUS_EDC' };
    },
  } as unknown as JetStreamClient;
  const jsm = {
    streams: {
      getMessage: async () => {
        state.lookups++;
        const last = stored.at(-1);
        return last === undefined ? null : { json: () => event(last) };
      },
    },
  } as unknown as JetStreamManager;
  return { js: () => js, jsm: async () => jsm, stored, state };
}

function publisherOn(stream: ReturnType<typeof fakeStream>) {
  const lines: string[] = [];
  const logger = { event: (_level: string, msg: string) => lines.push(msg) };
  const metrics = new EdcMetrics(new Registry());
  const publisher = new EventPublisher(stream.js, stream.jsm, logger as never, metrics);
  return { publisher, lines, metrics };
}

describe('EventPublisher', () => {
  it('retries a refused event until the stream acks it, and the next write drops what was acked', async () => {
    const stream = fakeStream();
    const { publisher, lines } = publisherOn(stream);
    stream.state.refusals = 3;
    expect(await publisher.publish(record([1, 2]), 1)).toBe(true);
    expect(stream.stored).toEqual([1, 2]);
    expect(publisher.ackedThrough(record([]))).toBe(2);
    expect(lines.filter((l) => l.startsWith('could not publish'))).toHaveLength(1);
    const trimmed = trimOutbox(record([1, 2]) as WithEvents, publisher.ackedThrough(record([])));
    expect(trimmed).toMatchObject({ publishedThrough: 2, outbox: [] });
    publisher.onApplicationShutdown();
  });

  it('sends each event once from this replica, in seq order, across overlapping publishes', async () => {
    const stream = fakeStream();
    const { publisher } = publisherOn(stream);
    stream.state.refusals = 2;
    const first = publisher.publish(record([1]), 1);
    // the next write still carries seq 1 (not known acked when it was written): it is not sent twice
    const second = publisher.publish(record([1, 2, 3]), 2);
    expect(await Promise.all([first, second])).toEqual([true, true]);
    expect(stream.stored).toEqual([1, 2, 3]);
    expect(stream.state.lookups).toBe(0);
    publisher.onApplicationShutdown();
  });

  it('events it did not write are looked up in the stream first, and only what follows is sent', async () => {
    const stream = fakeStream([1, 2]);
    const { publisher } = publisherOn(stream);
    // a take-over: the record still lists 1..4, the stream already holds 1 and 2 (maybe beyond its window)
    expect(await publisher.publish(record([1, 2, 3, 4]))).toBe(true);
    expect(stream.state.lookups).toBe(1);
    expect(stream.stored).toEqual([1, 2, 3, 4]);
    publisher.onApplicationShutdown();
  });

  it('what is behind the published-through mark is never sent again', async () => {
    const stream = fakeStream();
    const { publisher } = publisherOn(stream);
    expect(await publisher.publish(record([3, 4], 2), 3)).toBe(true);
    expect(stream.stored).toEqual([3, 4]);
    publisher.onApplicationShutdown();
  });

  it('after shutdown, a publish still under way resolves false and its events stay for the next owner', async () => {
    const stream = fakeStream();
    const { publisher } = publisherOn(stream);
    stream.state.refusals = 1_000;
    const sending = publisher.publish(record([1]), 1);
    await new Promise((resolve) => setTimeout(resolve, 30));
    publisher.onApplicationShutdown();
    expect(await sending).toBe(false);
    expect(await publisher.publish(record([1, 2]), 2)).toBe(false);
    expect(publisher.ackedThrough(record([]))).toBe(0);
    expect(stream.stored).toEqual([]);
  });
});

describe('trimOutbox', () => {
  const base = { eventSeq: 5, outbox: [3, 4, 5].map(event) };

  it('drops the events up to the acked seq and moves the mark', () => {
    expect(trimOutbox({ ...base, publishedThrough: 2 }, 4)).toEqual({
      ...base,
      publishedThrough: 4,
      outbox: [event(5)],
    });
  });

  it('never moves the mark back or past the last event', () => {
    const record = { ...base, publishedThrough: 2 };
    expect(trimOutbox(record, 1)).toBe(record);
    expect(trimOutbox(record, 9)).toMatchObject({ publishedThrough: 5, outbox: [] });
  });

  it('reads a record from before the mark: its outbox was the last change only', () => {
    expect(trimOutbox(base, 0)).toEqual({ ...base, publishedThrough: 2 });
  });
});
