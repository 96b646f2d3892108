import type { JetStreamClient } from '@nats-io/jetstream';
import { HEADERS } from '@tillbus/contracts';
import { setTimeout as sleep } from 'node:timers/promises';
import { outgoingHeaders } from '../headers';
import { untilSuccess, type RetryPolicy } from './retry';

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
  /** The message that used up its attempts (or was stopped by close()); nothing after it was sent, to keep the order. */
  failed?: OutboxFailure<P>;
  unsent: OutboxMessage<P>[];
}

/** What a sender learns while a send is under way. */
export interface OutboxListener<P = unknown> {
  /** After every failed attempt, also those that will be retried. */
  attemptFailed?(failure: OutboxFailure<P>): void;
  /** When the stream acked `message` (`attempts` > 1: it had failed before). */
  published?(message: OutboxMessage<P>, attempts: number): void;
}

export interface JetStreamOutboxOptions {
  /** Default: OUTBOX_UNTIL_ACKED. */
  retry?: RetryPolicy;
  /** How long to wait for the stream's ack of one publish. */
  publishTimeoutMs?: number;
}

/** The longest pause between two attempts of one message under OUTBOX_UNTIL_ACKED. */
export const OUTBOX_MAX_PAUSE_MS = 2_000;
export const DEFAULT_PUBLISH_TIMEOUT_MS = 5_000;

/**
 * Never gives up while the process lives: 50 ms, then doubling up to 2 s. A stream that comes back after a broker
 * restart (TILLBUS_EDC answered with timeouts for a second and more after the process was up) gets the message
 * within 2 s, and a re-send of a message whose ack was lost is at most 2 s + one publish timeout after the copy the
 * stream holds: far inside every stream's duplicate window (2 min), so the stream stores it once.
 */
export const OUTBOX_UNTIL_ACKED = untilSuccess(50, OUTBOX_MAX_PAUSE_MS);

/** The error of a message that close() stopped. */
export class OutboxClosedError extends Error {
  constructor() {
    super('the outbox was closed before the stream acked the message');
    this.name = 'OutboxClosedError';
  }
}

/**
 * Publishes events to JetStream, each with its message id so a re-publish (a retry, another replica taking over)
 * is stored once within the stream's duplicate window, and retries each until the stream acks (by default without
 * end: OUTBOX_UNTIL_ACKED). Messages of one key go strictly in order: a message is sent only after everything sent
 * before it for that key was acked (or given up on, under a bounded policy), and a message that fails holds back
 * the rest of its batch.
 */
export class JetStreamOutbox {
  private readonly tails = new Map<string, Promise<unknown>>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly closing = new AbortController();

  constructor(
    private readonly jetstream: () => JetStreamClient,
    private readonly options: JetStreamOutboxOptions = {},
  ) {}

  get closed(): boolean {
    return this.closing.signal.aborted;
  }

  /** Queues `messages` behind what this outbox is still sending for `key`; resolves when they are all settled. */
  send<P>(
    key: string,
    messages: readonly OutboxMessage<P>[],
    options: { retry?: RetryPolicy; listener?: OutboxListener<P> } = {},
  ): Promise<OutboxOutcome<P>> {
    if (messages.length === 0) return Promise.resolve({ published: [], unsent: [] });
    const retry = options.retry ?? this.options.retry ?? OUTBOX_UNTIL_ACKED;
    const previous = this.tails.get(key) ?? Promise.resolve();
    const work = previous.then(() => this.publishInOrder(messages, retry, options.listener ?? {}));
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

  /**
   * Stops retrying, for shutdown: what is not acked yet fails with OutboxClosedError at its next attempt (and a
   * pause in progress ends now). The sender's durable copy (a record's outbox) is what publishes it later.
   */
  close(): void {
    this.closing.abort();
  }

  private async publishInOrder<P>(
    messages: readonly OutboxMessage<P>[],
    retry: RetryPolicy,
    listener: OutboxListener<P>,
  ): Promise<OutboxOutcome<P>> {
    const published: OutboxMessage<P>[] = [];
    for (const [index, message] of messages.entries()) {
      const failed = await this.publishOne(message, retry, listener);
      if (failed) return { published, failed, unsent: messages.slice(index + 1) };
      published.push(message);
    }
    return { published, unsent: [] };
  }

  private async publishOne<P>(
    message: OutboxMessage<P>,
    retry: RetryPolicy,
    listener: OutboxListener<P>,
  ): Promise<OutboxFailure<P> | undefined> {
    for (let attempt = 1; ; attempt++) {
      if (this.closed) return { message, error: new OutboxClosedError(), attempts: attempt - 1 };
      try {
        await this.jetstream().publish(message.subject, JSON.stringify(message.payload), {
          headers: outgoingHeaders({ ...message.headers, [HEADERS.messageId]: message.messageId }),
          timeout: this.options.publishTimeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS,
        });
        listener.published?.(message, attempt);
        return undefined;
      } catch (error) {
        const failure = { message, error, attempts: attempt };
        listener.attemptFailed?.(failure);
        if (attempt >= retry.maxAttempts) return failure;
        await this.pause(retry.delayMs(attempt));
      }
    }
  }

  private async pause(ms: number): Promise<void> {
    if (ms <= 0 || this.closed) return;
    await sleep(ms, undefined, { signal: this.closing.signal }).catch(() => undefined);
  }
}
