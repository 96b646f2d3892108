import { NatsContext, ServerNats, type NatsOptions } from '@nestjs/microservices';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { HEADERS, isErrorEnvelope, toErrorEnvelope, type ErrorEnvelope } from '@tillbus/contracts';
import {
  correlationIdOf,
  decodeJsonPayload,
  InFlightTracker,
  outgoingHeaders,
  type BusMetrics,
  type MessagingOptions,
  type NatsConnectionManager,
} from '@tillbus/messaging';
import { JsonLogger, newCorrelationId, runWithCorrelation } from '@tillbus/observability';

type Packet = { response?: unknown; err?: unknown; isDisposed?: boolean };

export interface TillbusServerDeps {
  options: MessagingOptions;
  connection: NatsConnectionManager;
  logger: JsonLogger;
  metrics: BusMetrics;
}

/**
 * Nest's NATS transport with the defaults payments need:
 * - every handler subscribes in the service's queue group, so N replicas share the work;
 * - messages are plain JSON both ways (no Nest packet wrapper), so a POS in any language can call us;
 * - a request always gets exactly one reply: the result, or an error envelope marked by a header;
 * - the correlation id travels from the request header into the handler's logs and outgoing messages;
 * - close() stops taking work, waits (bounded) for in-flight handlers to reply, and leaves draining the
 *   connection to the connection manager, which runs last.
 */
export class TillbusNatsServer extends ServerNats {
  readonly inFlight = new InFlightTracker();
  private stopping = false;
  private readonly handlerSubscriptions: Subscription[] = [];

  private deps!: TillbusServerDeps;
  private boundClient?: NatsConnection;

  // Nest creates the strategy before the DI container exists, so the dependencies arrive through attach().
  constructor() {
    super({} as Required<NatsOptions>['options']);
  }

  attach(deps: TillbusServerDeps): void {
    this.deps = deps;
  }

  override async createNatsClient(): Promise<NatsConnection> {
    return this.deps.connection.connect();
  }

  override bindEvents(client: NatsConnection): void {
    this.boundClient = client;
    for (const [channel, handler] of this.getHandlers()) {
      const queue = (handler.extras?.queue as string | undefined) ?? this.deps.options.service;
      const callback = this.getMessageHandler(channel).bind(this) as (
        err: Error | null,
        msg: Msg,
      ) => void;
      this.handlerSubscriptions.push(client.subscribe(channel, { queue, callback }));
    }
  }

  // Nest calls back as soon as the subscriptions are queued; flushing first means that when startService returns,
  // the server knows them, so a request sent at once finds its handler instead of NO_RESPONDERS.
  override start(callback: (err?: unknown) => void): void {
    super.start(() => {
      this.boundClient!.flush().then(
        () => callback(),
        (error: unknown) => callback(error),
      );
    });
  }

  // The connection status is watched by the connection manager; Nest's watcher would only log twice.
  override async handleStatusUpdates(): Promise<void> {}

  override async handleMessage(channel: string, natsMsg: Msg): Promise<void> {
    if (isJetStreamDelivery(natsMsg)) {
      // Not a caller: a push consumer someone pointed at this subject (nats-server does not check a consumer's
      // deliver subject against its creator's permissions, nats-server#8274). Never act on it.
      this.deps.logger.event(
        'warn',
        'dropped a message a JetStream consumer delivered to a bus subject',
        {
          subject: natsMsg.subject,
          consumer: natsMsg.reply?.split('.').slice(2, 4).join('/'),
        },
      );
      return;
    }
    const correlationId = correlationIdOf(natsMsg.headers) ?? newCorrelationId();
    return runWithCorrelation(correlationId, () =>
      this.handleInScope(channel, natsMsg, correlationId),
    );
  }

  private async handleInScope(channel: string, natsMsg: Msg, correlationId: string): Promise<void> {
    const context = new NatsContext([natsMsg.subject, natsMsg.headers]);
    const parsed = decodeJsonPayload(natsMsg.data, {});
    if (!natsMsg.reply) {
      if (!parsed.ok)
        return this.deps.logger.event('warn', 'dropped a malformed event', {
          subject: natsMsg.subject,
        });
      return this.handleEvent(channel, { pattern: channel, data: parsed.value }, context);
    }
    const reply = this.replyOnce(channel, natsMsg, correlationId);
    if (this.stopping)
      return reply.error({ code: 'SHUTTING_DOWN', message: 'the service is shutting down; retry' });
    if (!parsed.ok)
      return reply.error({
        code: 'PARAM_ILLEGAL',
        message: `payload is not valid JSON: ${parsed.reason}`,
      });
    // The channel is already the registered key; Nest's lookup would JSON.parse it on every message.
    const handler = this.getHandlers().get(channel);
    if (!handler) return reply.error({ code: 'NO_HANDLER', message: `no handler for ${channel}` });
    try {
      const result$ = this.transformToObservable(await handler(parsed.value, context));
      // One reply per request: the first value (or the error, or null when the handler completes empty).
      const subscription = result$.subscribe({
        next: (value) => {
          reply.packet({ response: value });
          queueMicrotask(() => subscription?.unsubscribe());
        },
        error: (error: unknown) => reply.packet({ err: error }),
        complete: () => reply.packet({ isDisposed: true }),
      });
    } catch (error) {
      reply.error(toErrorEnvelope(error, correlationId), error);
    }
  }

  /** Answers a request once, whatever Nest's stream emits after that, and ends its in-flight span. */
  private replyOnce(channel: string, natsMsg: Msg, correlationId: string) {
    const end = this.inFlight.begin();
    const started = process.hrtime.bigint();
    let replied = false;
    const finish = (code: string, body: unknown, isError: boolean) => {
      if (replied) return;
      replied = true;
      try {
        const headers = outgoingHeaders(isError ? { [HEADERS.error]: code } : {});
        headers.set(HEADERS.correlationId, correlationId);
        natsMsg.respond(JSON.stringify(body ?? null), { headers });
      } catch (error) {
        this.deps.logger.event('error', 'could not publish a reply', { subject: channel, error });
      } finally {
        this.deps.metrics.recordHandled(
          channel,
          code,
          Number(process.hrtime.bigint() - started) / 1e9,
        );
        end();
      }
    };
    const error = (envelope: ErrorEnvelope, cause?: unknown) => {
      // Errors that went through the exception filter were logged there.
      if (envelope.code === 'INTERNAL_ERROR' && !isErrorEnvelope(cause)) {
        this.deps.logger.event('error', 'handler failed', {
          subject: channel,
          error: cause,
        });
      }
      finish(envelope.code, envelope, true);
    };
    return {
      error,
      packet: (packet: Packet) => {
        if (packet.err !== undefined)
          return error(toErrorEnvelope(packet.err, correlationId), packet.err);
        if ('response' in packet || packet.isDisposed) finish('OK', packet.response, false);
      },
    };
  }

  /** Stop taking work, then give in-flight handlers up to the grace period to reply. */
  override async close(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled(this.handlerSubscriptions.splice(0).map((sub) => sub.drain()));
    const settled = await this.inFlight.settle(this.deps.options.shutdownGraceMs);
    if (!settled) {
      this.deps.logger.event('warn', 'shutdown grace ran out with requests still in flight', {
        inFlight: this.inFlight.size,
      });
    }
  }
}

/**
 * JetStream delivers every consumer message with a reply subject `$JS.ACK.<stream>.<consumer>.…`; a real request
 * has an inbox (or a cross-account `_R_.…`) and an event has none.
 */
export function isJetStreamDelivery(msg: Pick<Msg, 'reply'>): boolean {
  return msg.reply?.startsWith('$JS.ACK.') === true;
}
