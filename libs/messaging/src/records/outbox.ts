import type { JetStreamClient } from '@nats-io/jetstream';
import { HEADERS } from '@tillbus/contracts';
import { outgoingHeaders } from '../headers';
import { pauseAfter, retrySchedule, type RetryPolicy } from './retry';

/** One event for a stream. `messageId` (sent as Nats-Msg-Id) must be the same on every retry of the event. */
export interface OutboxMessage<P = unknown> {
  subject: string;
  payload: P;
  messageId: string;
  /** Sent along, next to Nats-Msg-Id and the correlation id. */
  headers?: Record<string, string>;
}

export interface OutboxFailure<P = unknown> {
  message: OutboxMessage<P>;
  error: unknown;
  attempts: number;
}

export interface OutboxOutcome<P = unknown> {
  /** Acked by the stream (a duplicate within its window counts: the stream holds it once). */
  published: OutboxMessage<P>[];
  /** The message that used up its attempts; nothing after it was sent, to keep the order. */
  failed?: OutboxFailure<P>;
  unsent: OutboxMessage<P>[];
}

export interface JetStreamOutboxOptions {
  /** Default: once, then after 50, 250, 1,000 and 5,000 ms. */
  retry?: RetryPolicy;
  /** How long to wait for the stream's ack of one publish. */
  publishTimeoutMs?: number;
}

export const DEFAULT_OUTBOX_RETRY = retrySchedule([50, 250, 1_000, 5_000]);

/**
 * Publishes events to JetStream, each with its message id so a re-publish (a retry, another replica taking over)
 * is stored once within the stream's duplicate window, and retries each until the stream acks. Messages of one key
 * go strictly in order: a message is sent only after everything sent before it for that key was acked or given
 * up on, and a message that fails holds back the rest of its batch.
 */
export class JetStreamOutbox {
  private readonly tails = new Map<string, Promise<unknown>>();
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly jetstream: () => JetStreamClient,
    private readonly options: JetStreamOutboxOptions = {},
  ) {}

  /** Queues `messages` behind what this outbox is still sending for `key`; resolves when they are all settled. */
  send<P>(
    key: string,
    messages: readonly OutboxMessage<P>[],
    options: { retry?: RetryPolicy } = {},
  ): Promise<OutboxOutcome<P>> {
    if (messages.length === 0) return Promise.resolve({ published: [], unsent: [] });
    const retry = options.retry ?? this.options.retry ?? DEFAULT_OUTBOX_RETRY;
    const previous = this.tails.get(key) ?? Promise.resolve();
    const work = previous.then(() => this.publishInOrder(messages, retry));
    const tail = work.catch(() => undefined);
    this.tails.set(key, tail);
    this.inFlight.add(tail);
    void tail.finally(() => {
      this.inFlight.delete(tail);
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return work;
  }

  /** Waits (bounded) for sends in progress, for shutdown. */
  async settle(graceMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      new Promise((resolve) => {
        timer = setTimeout(resolve, graceMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  }

  private async publishInOrder<P>(
    messages: readonly OutboxMessage<P>[],
    retry: RetryPolicy,
  ): Promise<OutboxOutcome<P>> {
    const published: OutboxMessage<P>[] = [];
    for (const [index, message] of messages.entries()) {
      const failed = await this.publishOne(message, retry);
      if (failed) return { published, failed, unsent: messages.slice(index + 1) };
      published.push(message);
    }
    return { published, unsent: [] };
  }

  private async publishOne<P>(
    message: OutboxMessage<P>,
    retry: RetryPolicy,
  ): Promise<OutboxFailure<P> | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.jetstream().publish(message.subject, JSON.stringify(message.payload), {
          headers: outgoingHeaders({ ...message.headers, [HEADERS.messageId]: message.messageId }),
          timeout: this.options.publishTimeoutMs ?? 5_000,
        });
        return undefined;
      } catch (error) {
        if (attempt >= retry.maxAttempts) return { message, error, attempts: attempt };
        await pauseAfter(retry, attempt);
      }
    }
  }
}
