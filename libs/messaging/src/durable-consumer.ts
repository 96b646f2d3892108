import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { codedError, deadLetterSubject, HEADERS } from '@tillbus/contracts';
import { JsonLogger, newCorrelationId, runWithCorrelation } from '@tillbus/observability';
import type { BusMetrics } from './bus-metrics';
import type { NatsConnectionManager } from './connection';
import type { DurableDeclaration } from './declarations';
import { correlationIdOf } from './headers';
import { InFlightTracker } from './in-flight';
import { decodeJsonPayload } from './payload';
import { ensureConsumer } from './provisioning';
import { runStartupStep, type StartupStepContext } from './startup-step';

/** Thrown by a handler (or a parser) when retrying cannot help: the message goes to the dead letters at once. */
export class PermanentError extends codedError('PERMANENT_FAILURE', 'PermanentError') {}

/** A declared consumer (libs/messaging declarations) plus what this process does with its messages. */
export interface DurableConsumerSpec<T> extends Omit<
  DurableDeclaration,
  'concurrency' | 'ackWaitMs'
> {
  /** Delay before redelivery n (1-based); the last value repeats. */
  backoffMs: number[];
  ackWaitMs?: number;
  /** Messages processed at once by this replica; 1 keeps the stream's order. */
  concurrency?: number;
  /** Turns the JSON body into the handler's type; throw PermanentError for a payload that can never work. */
  parse?: (body: unknown, msg: JsMsg) => T;
  handle: (payload: T, msg: JsMsg) => Promise<void>;
}

/**
 * A durable pull consumer with explicit acks: success acks; a failure naks with backoff; the last allowed failure,
 * or a PermanentError, publishes the message to `tillbus.dlq.<stream>.<consumer>` with the reason in headers and
 * terminates it. Nothing is lost: if the dead-letter publish itself fails the message is redelivered later.
 * The dead-letter stream is declared by MessagingModule (or `deadLetterStream()` where there is no module).
 */
/**
 * How long a message that keeps failing is retried before it is dead-lettered: the delays before deliveries 2 to
 * `maxDeliver` (the last delay repeats). Unbounded for a negative `maxDeliver`.
 */
export function retryWindowMs(backoffMs: number[], maxDeliver: number): number {
  if (maxDeliver < 0) return Infinity;
  let total = 0;
  for (let delivery = 1; delivery < maxDeliver; delivery++)
    total += backoffMs[Math.min(delivery - 1, backoffMs.length - 1)] ?? 1000;
  return total;
}

export class DurableConsumer<T = unknown> {
  private consuming?: Consuming;

  constructor(
    private readonly connection: NatsConnectionManager,
    private readonly spec: DurableConsumerSpec<T>,
    private readonly logger: JsonLogger,
    private readonly metrics?: BusMetrics,
  ) {}

  async start(): Promise<void> {
    this.consuming = await consumeDurable(
      this.connection,
      {
        ...this.spec,
        ackWaitMs: this.spec.ackWaitMs ?? 30_000,
        concurrency: this.spec.concurrency ?? 16,
      },
      (msg) => this.process(msg),
      { logger: this.logger },
    );
  }

  /** Stops pulling, lets in-flight messages finish (bounded), and leaves the rest for other replicas. */
  async stop(graceMs: number): Promise<boolean> {
    return this.consuming ? this.consuming.stop(graceMs) : true;
  }

  private process(msg: JsMsg): Promise<void> {
    const correlationId = correlationIdOf(msg.headers) ?? newCorrelationId();
    return runWithCorrelation(correlationId, async () => {
      try {
        const decoded = decodeJsonPayload(msg.data, undefined);
        if (!decoded.ok) throw new PermanentError('the message is not valid JSON');
        const body = decoded.value;
        const payload = this.spec.parse ? this.spec.parse(body, msg) : (body as T);
        await this.spec.handle(payload, msg);
        msg.ack();
        this.count('acked');
      } catch (error) {
        await this.fail(msg, error);
      }
    });
  }

  private async fail(msg: JsMsg, error: unknown): Promise<void> {
    const reason = error instanceof Error ? error.message : String(error);
    const deliveries = msg.info.deliveryCount;
    const permanent = error instanceof PermanentError;
    // a negative maxDeliver is unbounded, as in the server's consumer config: retried until it works
    if (!permanent && (this.spec.maxDeliver < 0 || deliveries < this.spec.maxDeliver)) {
      const delays = this.spec.backoffMs;
      const delay = delays[Math.min(deliveries - 1, delays.length - 1)] ?? 1000;
      this.logger.event('warn', 'message failed; will retry', {
        stream: this.spec.stream,
        consumer: this.spec.durable,
        deliveries,
        retryInMs: delay,
        error,
      });
      msg.nak(delay);
      this.count('retried');
      return;
    }
    try {
      const headers = natsHeaders();
      msg.headers
        ?.keys()
        .forEach((key) => msg.headers?.values(key).forEach((v) => headers.append(key, v)));
      headers.set(HEADERS.deadLetterReason, reason.slice(0, 512));
      headers.set(HEADERS.deadLetterSubject, msg.subject);
      headers.set(HEADERS.deadLetterStream, this.spec.stream);
      headers.set(HEADERS.deadLetterSequence, String(msg.info.streamSequence));
      headers.set(HEADERS.deadLetterDeliveries, String(deliveries));
      headers.delete(HEADERS.messageId);
      await this.connection
        .jetstream()
        .publish(deadLetterSubject(this.spec.stream, this.spec.durable), msg.data, { headers });
      // No reason text: nats-server 2.9 ignores "+TERM <reason>" and would keep the message pending.
      msg.term();
      this.count('dead_lettered');
      this.metrics?.deadLetters.inc({ stream: this.spec.stream, consumer: this.spec.durable });
      this.logger.event('error', 'message dead-lettered', {
        stream: this.spec.stream,
        consumer: this.spec.durable,
        deliveries,
        permanent,
        error,
      });
    } catch (publishError) {
      this.logger.event('error', 'could not dead-letter a message; it will be redelivered', {
        stream: this.spec.stream,
        consumer: this.spec.durable,
        error: publishError,
      });
      msg.nak(this.spec.backoffMs[this.spec.backoffMs.length - 1] ?? 1000);
    }
  }

  private count(result: 'acked' | 'retried' | 'dead_lettered'): void {
    this.metrics?.consumerMessages.inc({
      stream: this.spec.stream,
      consumer: this.spec.durable,
      result,
    });
  }
}

/** A running durable consumer, from consumeDurable. */
export interface Consuming {
  /** Stops pulling, waits (at most graceMs) for the messages in hand; true when they all finished. */
  stop(graceMs: number): Promise<boolean>;
}

/**
 * How long one pull waits on the server. The client expects the server's idle heartbeat every half of it and, after
 * two missed, pulls again from whichever server now leads the consumer, retrying that every `expires`. The client's
 * default (30 s) left a consumer whose leader died silent for 30–40 s after quorum was back (the cluster tier's
 * leader kills); 1 s puts the first pull after a failover within about a second, for one idle pull a second.
 */
const PULL_EXPIRES_MS = 1_000;

/**
 * Binds the provisioned durable consumer (in apply mode: creates it, or updates it to the declaration, idempotent
 * from every replica), then pulls its messages and runs `handle` on each, at most `concurrency` at once. `handle`
 * acks or naks. With `startup`, binding waits out a cluster that is still electing (runStartupStep).
 */
export async function consumeDurable(
  connection: NatsConnectionManager,
  declaration: DurableDeclaration,
  handle: (msg: JsMsg) => Promise<void>,
  startup?: StartupStepContext,
): Promise<Consuming> {
  const bind = async () => {
    if (connection.provisioningMode === 'apply') {
      await ensureConsumer(await connection.jetstreamManager(), declaration);
    }
    return connection.jetstream().consumers.get(declaration.stream, declaration.durable);
  };
  const consumer = startup
    ? await runStartupStep(
        'start consumer',
        `${declaration.stream}/${declaration.durable}`,
        bind,
        startup,
      )
    : await bind();
  const concurrency = declaration.concurrency;
  const messages: ConsumerMessages = await consumer.consume({
    max_messages: concurrency,
    expires: PULL_EXPIRES_MS,
  });
  const inFlight = new InFlightTracker();
  const loop = runBounded(messages, concurrency, inFlight, handle);
  return {
    stop: async (graceMs) => {
      messages.stop();
      const settled = await inFlight.settle(graceMs);
      await loop.catch(() => undefined);
      return settled;
    },
  };
}

/**
 * Runs `handle` on each item as it arrives, at most `concurrency` at once, each tracked in `inFlight`; resolves once
 * the items end and every handler has settled.
 */
export async function runBounded<M>(
  items: AsyncIterable<M>,
  concurrency: number,
  inFlight: InFlightTracker,
  handle: (item: M) => Promise<void>,
): Promise<void> {
  const slots = new Set<Promise<void>>();
  for await (const item of items) {
    const work = inFlight.track(() => handle(item));
    slots.add(work);
    void work.finally(() => slots.delete(work));
    if (slots.size >= concurrency) await Promise.race(slots);
  }
  await Promise.allSettled(slots);
}
