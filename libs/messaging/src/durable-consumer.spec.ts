import { TillbusError } from '@tillbus/contracts';
import { describe, expect, it } from 'vitest';
import { JsonLogger } from '@tillbus/observability';
import { DurableConsumer, PermanentError, retryWindowMs, runBounded } from './durable-consumer';
import { InFlightTracker } from './in-flight';

async function* numbers(count: number): AsyncGenerator<number> {
  for (let i = 0; i < count; i++) yield i;
}

describe('runBounded', () => {
  it.each([1, 3, 16])(
    'never runs more than %i handlers at once, and runs every one',
    async (limit) => {
      const inFlight = new InFlightTracker();
      let running = 0;
      let most = 0;
      const done: number[] = [];
      await runBounded(numbers(40), limit, inFlight, async (n) => {
        running++;
        most = Math.max(most, running);
        expect(inFlight.size).toBe(running);
        await new Promise((resolve) => setTimeout(resolve, n % 4));
        running--;
        done.push(n);
      });
      expect(most).toBe(Math.min(limit, 40));
      expect(done.sort((a, b) => a - b)).toEqual([...Array(40).keys()]);
      expect(inFlight.size).toBe(0);
    },
  );

  it('keeps the order of arrival when one at a time', async () => {
    const seen: number[] = [];
    await runBounded(numbers(10), 1, new InFlightTracker(), async (n) => {
      await new Promise((resolve) => setTimeout(resolve, 10 - n));
      seen.push(n);
    });
    expect(seen).toEqual([...Array(10).keys()]);
  });
});

describe('PermanentError', () => {
  it.each([[new PermanentError('m'), 'PermanentError', 'PERMANENT_FAILURE']])(
    'keeps the names and codes of the messaging errors: %o',
    (error, name, code) => {
      expect(error).toBeInstanceOf(TillbusError);
      expect(error.name).toBe(name);
      expect(error.code).toBe(code);
    },
  );
});

describe('DurableConsumer failures', () => {
  const failingMessage = (deliveryCount: number) => {
    const naks: number[] = [];
    const msg = {
      data: new TextEncoder().encode('{}'),
      subject: 's',
      headers: undefined,
      info: { deliveryCount, streamSequence: 1 },
      ack: () => undefined,
      nak: (delay: number) => naks.push(delay),
      term: () => undefined,
    };
    return { msg, naks };
  };
  const consumerWith = (maxDeliver: number, published: string[]) =>
    new DurableConsumer(
      {
        jetstream: () => ({
          publish: async (subject: string) => {
            published.push(subject);
          },
        }),
      } as never,
      {
        stream: 'S',
        durable: 'd',
        filterSubject: 's',
        maxDeliver,
        backoffMs: [10, 20],
        handle: () => Promise.reject(new Error('record not readable yet')),
      },
      new JsonLogger({ service: 'test', write: () => undefined }),
    );

  it.each([
    [-1, 5_000, 'retried: a negative maxDeliver is unbounded'],
    [3, 2, 'retried below maxDeliver'],
  ])('maxDeliver %i, delivery %i: %s', async (maxDeliver, deliveries) => {
    const published: string[] = [];
    const { msg, naks } = failingMessage(deliveries);
    await (
      consumerWith(maxDeliver, published) as never as { process(m: unknown): Promise<void> }
    ).process(msg);
    expect(naks).toEqual([20]);
    expect(published).toEqual([]);
  });

  it('dead-letters at maxDeliver', async () => {
    const published: string[] = [];
    const { msg, naks } = failingMessage(3);
    await (consumerWith(3, published) as never as { process(m: unknown): Promise<void> }).process(
      msg,
    );
    expect(naks).toEqual([]);
    expect(published).toEqual(['tillbus.dlq.S.d']);
  });
});

describe('retryWindowMs', () => {
  it.each([
    [[250, 1_000, 2_000], 1, 0],
    [[250, 1_000, 2_000], 2, 250],
    [[250, 1_000, 2_000], 4, 3_250],
    [[250, 1_000, 2_000], 6, 7_250],
    [[50], 3, 100],
    [[1_000], -1, Infinity],
  ])('backoff %j with maxDeliver %i retries for %i ms', (backoff, maxDeliver, expected) => {
    expect(retryWindowMs(backoff, maxDeliver)).toBe(expected);
  });
});
