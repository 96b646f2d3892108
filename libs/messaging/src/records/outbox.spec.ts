import type { JetStreamClient } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { JetStreamOutbox, type OutboxMessage } from './outbox';
import { NO_RETRY, retrySchedule } from './retry';

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

  it('settle() waits for sends in progress, but not beyond the grace', async () => {
    const stream = fakeStream({ 'ev.a': 100 });
    const outbox = new JetStreamOutbox(stream.js, { retry: retrySchedule([1_000]) });
    void outbox.send('a', [message('ev.a', 'a-1')]);
    const start = Date.now();
    await outbox.settle(30);
    expect(Date.now() - start).toBeLessThan(500);
  });
});
