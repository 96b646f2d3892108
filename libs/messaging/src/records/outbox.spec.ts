import type { JetStreamClient } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import {
  JetStreamOutbox,
  OUTBOX_MAX_PAUSE_MS,
  OUTBOX_UNTIL_ACKED,
  OutboxClosedError,
  type OutboxMessage,
} from './outbox';
import { NO_RETRY, retrySchedule, untilSuccess } from './retry';

/** A stream that refuses the first `failures` publishes of each subject, and records the Nats-Msg-Id of the rest. */
function fakeStream(failures: Record<string, number> = {}, delayMs = 0) {
  const stored: string[] = [];
  const client = {
    publish: async (
      subject: string,
      _data: string,
      options: { headers: { get(name: string): string } },
    ) => {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      if ((failures[subject] ?? 0) > 0) {
        failures[subject]--;
        throw new Error('no responders');
      }
      const reason = options.headers.get('Reason');
      stored.push(`${subject}#${options.headers.get('Nats-Msg-Id')}${reason ? `#${reason}` : ''}`);
      return { seq: stored.length, duplicate: false, stream: 'S' };
    },
  };
  return { js: () => client as unknown as JetStreamClient, stored };
}

const message = (subject: string, id: string): OutboxMessage => ({
  subject,
  payload: { id },
  messageId: id,
});

describe('JetStreamOutbox', () => {
  it('publishes with the message id and retries until the stream acks', async () => {
    const stream = fakeStream({ 'ev.a': 2 });
    const outbox = new JetStreamOutbox(stream.js, { retry: retrySchedule([1, 1, 1]) });
    const outcome = await outbox.send('a', [message('ev.a', 'a-1')]);
    expect(outcome.failed).toBeUndefined();
    expect(outcome.published.map((m) => m.messageId)).toEqual(['a-1']);
    expect(stream.stored).toEqual(['ev.a#a-1']);
  });

  it('sends extra headers along', async () => {
    const stream = fakeStream();
    const outbox = new JetStreamOutbox(stream.js);
    await outbox.send('a', [{ ...message('ev.a', 'a-1'), headers: { Reason: 'why' } }]);
    expect(stream.stored).toEqual(['ev.a#a-1#why']);
  });

  it('gives up after its attempts and holds back the rest of the batch, to keep the order', async () => {
    const stream = fakeStream({ 'ev.a': 5 });
    const outbox = new JetStreamOutbox(stream.js, { retry: retrySchedule([1]) });
    const outcome = await outbox.send('a', [message('ev.a', 'a-1'), message('ev.b', 'a-2')]);
    expect(outcome.failed).toMatchObject({ message: { messageId: 'a-1' }, attempts: 2 });
    expect(outcome.unsent.map((m) => m.messageId)).toEqual(['a-2']);
    expect(stream.stored).toEqual([]);
    const once = await outbox.send('a', [message('ev.a', 'a-1')], { retry: NO_RETRY });
    expect(once.failed?.attempts).toBe(1);
  });

  it('keeps the order of one key across sends, while other keys go on', async () => {
    const stream = fakeStream({ 'ev.a': 1 }, 2);
    const outbox = new JetStreamOutbox(stream.js, { retry: retrySchedule([20]) });
    const first = outbox.send('a', [message('ev.a', 'a-1')]);
    const second = outbox.send('a', [message('ev.a2', 'a-2')]);
    const other = outbox.send('b', [message('ev.b', 'b-1')]);
    await Promise.all([first, second, other]);
    expect(stream.stored).toEqual(['ev.b#b-1', 'ev.a#a-1', 'ev.a2#a-2']);
    await outbox.settle(100);
  });

  it('by default never gives up: the pause grows from 50 ms to 2 s and stays there', () => {
    expect(OUTBOX_UNTIL_ACKED.maxAttempts).toBe(Infinity);
    expect(OUTBOX_UNTIL_ACKED.delayMs(1)).toBe(50);
    expect(OUTBOX_UNTIL_ACKED.delayMs(2)).toBe(100);
    expect(OUTBOX_UNTIL_ACKED.delayMs(6)).toBe(1_600);
    expect(OUTBOX_UNTIL_ACKED.delayMs(7)).toBe(OUTBOX_MAX_PAUSE_MS);
    expect(OUTBOX_UNTIL_ACKED.delayMs(10_000)).toBe(OUTBOX_MAX_PAUSE_MS);
  });

  it('an unbounded policy outlasts any refusal (the old schedule gave up after 5), in order', async () => {
    const stream = fakeStream({ 'ev.a': 40 });
    const outbox = new JetStreamOutbox(stream.js, { retry: untilSuccess(1, 2) });
    const failedAttempts: number[] = [];
    const acked: Array<[string, number]> = [];
    const outcome = await outbox.send('a', [message('ev.a', 'a-1'), message('ev.b', 'a-2')], {
      listener: {
        attemptFailed: (failure) => failedAttempts.push(failure.attempts),
        published: (m, attempts) => acked.push([m.messageId, attempts]),
      },
    });
    expect(outcome.failed).toBeUndefined();
    expect(stream.stored).toEqual(['ev.a#a-1', 'ev.b#a-2']);
    expect(failedAttempts).toHaveLength(40);
    expect(acked).toEqual([
      ['a-1', 41],
      ['a-2', 1],
    ]);
  });

  it('close() ends a retry in its pause: the message fails as closed and the rest stays unsent', async () => {
    const stream = fakeStream({ 'ev.a': 1_000 });
    const outbox = new JetStreamOutbox(stream.js, { retry: untilSuccess(10_000, 10_000) });
    const sending = outbox.send('a', [message('ev.a', 'a-1'), message('ev.b', 'a-2')]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const start = Date.now();
    outbox.close();
    const outcome = await sending;
    expect(Date.now() - start).toBeLessThan(1_000);
    expect(outcome.failed?.error).toBeInstanceOf(OutboxClosedError);
    expect(outcome.unsent.map((m) => m.messageId)).toEqual(['a-2']);
    const after = await outbox.send('b', [message('ev.c', 'b-1')]);
    expect(after.failed?.error).toBeInstanceOf(OutboxClosedError);
    expect(stream.stored).toEqual([]);
  });

  it('settle() waits for sends in progress, but not beyond the grace', async () => {
    const stream = fakeStream({ 'ev.a': 100 });
    const outbox = new JetStreamOutbox(stream.js, { retry: retrySchedule([1_000]) });
    void outbox.send('a', [message('ev.a', 'a-1')]);
    const start = Date.now();
    await outbox.settle(30);
    expect(Date.now() - start).toBeLessThan(500);
  });
});
