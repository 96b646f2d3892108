import { randomUUID } from 'node:crypto';
import type { JetStreamClient, JetStreamManager, PubAck } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { BusRequestError, HEADERS } from '@tillbus/contracts';
import { CliError, EXIT } from './errors';

export interface BusOptions {
  servers: string;
  user?: string;
  pass?: string;
  /** Per request. */
  timeoutMs: number;
  /** The person set --timeout: it then bounds every request, even those that default to longer. */
  timeoutGiven?: boolean;
  /** Reply subjects' prefix: `_INBOX_<user>`, which auth.conf reserves for that user. */
  inboxPrefix?: string;
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
}

/**
 * The CLI's one NATS connection, opened on first use. The NATS client is loaded then too, not at start: `--help`
 * and bad usage answer without it (the CLI loads only the bus contract up front). Unlike a service, the CLI must
 * not wait forever for NATS: a person is waiting, so an unreachable server is an error at once, with what to do about it.
 */
export class CliBus {
  private nc?: Promise<NatsConnection>;

  constructor(readonly options: BusOptions) {}

  connect(): Promise<NatsConnection> {
    this.nc ??= this.open();
    return this.nc;
  }

  private async open(): Promise<NatsConnection> {
    const { connect } = await import('@nats-io/transport-node');
    return connect({
      servers: this.options.servers.split(',').map((s) => s.trim()),
      user: this.options.user,
      pass: this.options.pass,
      name: 'tillbus-cli',
      timeout: Math.min(this.options.timeoutMs, 3000),
      maxReconnectAttempts: 0,
      noAsyncTraces: true,
      inboxPrefix: this.options.inboxPrefix,
      ...(this.options.tls ? { tls: { ...this.options.tls } } : {}),
    }).catch((error: unknown) => {
      throw new CliError(
        'NATS_UNREACHABLE',
        `cannot reach NATS at ${redact(this.options.servers)}: ${(error as Error).message}`,
        EXIT.unreachable,
        'start the local stack with `npm start`, or point the CLI at your NATS with --nats <url> or NATS_URL',
      );
    });
  }

  /** The timeout of a request that takes long by nature (a diagnosis, a SignOn): --timeout when given. */
  longTimeout(defaultMs: number): number {
    return this.options.timeoutGiven === true
      ? this.options.timeoutMs
      : Math.max(this.options.timeoutMs, defaultMs);
  }

  async request<T>(
    subject: string,
    payload: unknown,
    timeoutMs = this.options.timeoutMs,
  ): Promise<T> {
    const nc = await this.connect();
    const [{ headers }, { requestOnConnection }] = await Promise.all([
      import('@nats-io/transport-node'),
      import('@tillbus/messaging/request'),
    ]);
    const h = headers();
    h.set(HEADERS.correlationId, randomUUID());
    try {
      return await requestOnConnection<T>(nc, subject, payload, { timeoutMs, headers: h });
    } catch (error) {
      if (error instanceof BusRequestError) throw fromBusError(error);
      throw error;
    }
  }

  async jetstream(): Promise<JetStreamClient> {
    const { jetstream } = await import('@nats-io/jetstream');
    return jetstream(await this.connect());
  }

  async jetstreamManager(): Promise<JetStreamManager> {
    const { jetstreamManager } = await import('@nats-io/jetstream');
    return jetstreamManager(await this.connect());
  }

  /** A JetStream publish with the correlation id and, when given, a de-duplication id; resolves to the ack. */
  async publishEvent(
    subject: string,
    event: unknown,
    options: { messageId?: string; timeoutMs?: number } = {},
  ): Promise<PubAck> {
    const js = await this.jetstream();
    const { headers } = await import('@nats-io/transport-node');
    const h = headers();
    h.set(HEADERS.correlationId, randomUUID());
    if (options.messageId) h.set(HEADERS.messageId, options.messageId);
    return js.publish(subject, JSON.stringify(event), {
      headers: h,
      timeout: options.timeoutMs ?? this.options.timeoutMs,
    });
  }

  async close(): Promise<void> {
    if (!this.nc) return;
    const nc = await this.nc.catch(() => undefined);
    await nc?.close().catch(() => undefined);
  }
}

/** A failed request as a CLI error: the service's code and message, plus what a person can do. */
export function fromBusError(error: BusRequestError): CliError {
  switch (error.code) {
    case 'NO_RESPONDERS':
      return new CliError(
        'NO_RESPONDERS',
        `nothing answers on ${error.subject}: the ${serviceOf(error.subject)} service is not running`,
        EXIT.unreachable,
        'start it (with the local stack: `npm start`), or check its logs',
      );
    case 'TIMEOUT':
      return new CliError(
        'TIMEOUT',
        `${serviceOf(error.subject)} did not answer within the timeout (${error.message})`,
        EXIT.timeout,
        'the service may be overloaded or stuck; retry with a larger --timeout, or check its /readyz',
      );
    case 'UNAVAILABLE':
      return new CliError('UNAVAILABLE', error.message, EXIT.unreachable, undefined, error.details);
    default:
      return new CliError(error.code, error.message, EXIT.failed, undefined, error.details);
  }
}

/** tillbus.<service>.<verb>: the service's name, for messages. */
export function serviceOf(subject: string): string {
  const [, service] = subject.split('.');
  return service === 'edc'
    ? 'edc-command'
    : service === 'easycard'
      ? 'easycard-session'
      : (service ?? subject);
}

function redact(servers: string): string {
  return servers.replace(/\/\/[^@/]*@/g, '//***@');
}
