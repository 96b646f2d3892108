import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { BusRequestError, requestJson } from '@tillbus/messaging';
import { CliError, EXIT } from './errors';

export interface BusOptions {
  servers: string;
  user?: string;
  pass?: string;
  /** Per request. */
  timeoutMs: number;
  /** Reply subjects' prefix: `_INBOX_<user>`, which auth.conf reserves for that user. */
  inboxPrefix?: string;
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
}

/**
 * The CLI's one NATS connection, opened on first use. Unlike a service, the CLI must not wait forever for
 * NATS: a person is waiting, so an unreachable server is an error at once, with what to do about it.
 */
export class CliBus {
  private nc?: Promise<NatsConnection>;

  constructor(readonly options: BusOptions) {}

  connect(): Promise<NatsConnection> {
    this.nc ??= connect({
      servers: this.options.servers.split(',').map((s) => s.trim()),
      user: this.options.user,
      pass: this.options.pass,
      name: 'tillbus-cli',
      inboxPrefix: this.options.inboxPrefix,
      ...(this.options.tls ? { tls: { ...this.options.tls } } : {}),
      timeout: Math.min(this.options.timeoutMs, 3000),
      maxReconnectAttempts: 0,
      noAsyncTraces: true,
    }).catch((error: unknown) => {
      throw new CliError(
        'NATS_UNREACHABLE',
        `cannot reach NATS at ${redact(this.options.servers)}: ${(error as Error).message}`,
        EXIT.unreachable,
        'start the local stack with `npm start`, or point the CLI at your NATS with --nats <url> or NATS_URL',
      );
    });
    return this.nc;
  }

  async request<T>(
    subject: string,
    payload: unknown,
    timeoutMs = this.options.timeoutMs,
  ): Promise<T> {
    try {
      return await requestJson<T>(this, subject, payload, { timeoutMs });
    } catch (error) {
      if (error instanceof BusRequestError) throw fromBusError(error);
      throw error;
    }
  }

  async jetstream(): Promise<JetStreamClient> {
    return jetstream(await this.connect());
  }

  async jetstreamManager(): Promise<JetStreamManager> {
    return jetstreamManager(await this.connect());
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
