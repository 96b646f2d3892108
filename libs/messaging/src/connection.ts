import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { isSubjectToken } from '@tillbus/contracts';
import type { JsonLogger } from '@tillbus/observability';
import type { MessagingOptions } from './options';

/**
 * The payment-safe connection settings, in one place:
 * - reconnect forever: nats.js gives up after 10 attempts (~20 s) by default, and then the process exits;
 * - wait for the first connect, so a pod that starts before NATS does not crash-loop;
 * - reconnect quickly (requests succeed again within about a second of the broker's return);
 * - no async stack traces on every request: they cost a stack capture per call;
 * - replies arrive on the service's own inbox prefix, which NATS permissions can reserve for it;
 * - with a CA file, the server's certificate is verified against it (TLS).
 */
export function safeConnectionOptions(options: MessagingOptions): ConnectionOptions {
  return {
    servers: options.servers.split(',').map((s) => s.trim()),
    name: options.service,
    user: options.user,
    pass: options.pass,
    inboxPrefix: options.inboxPrefix ?? defaultInboxPrefix(options.service),
    maxReconnectAttempts: -1,
    waitOnFirstConnect: true,
    reconnectTimeWait: 500,
    reconnectJitter: 100,
    pingInterval: 10_000,
    maxPingOut: 3,
    noAsyncTraces: true,
    ...(options.tls ? { tls: { ...options.tls } } : {}),
  };
}

/** `_INBOX_<service>`, or the library default when the service name cannot be a subject token. */
export function defaultInboxPrefix(service: string): string {
  return isSubjectToken(service) ? `_INBOX_${service}` : '_INBOX';
}

/** Owns the service's one NATS connection; every other part of the messaging lib borrows it. */
export class NatsConnectionManager {
  private connecting?: Promise<NatsConnection>;
  private nc?: NatsConnection;
  private connected = false;
  private jsClient?: JetStreamClient;
  private jsManager?: Promise<JetStreamManager>;
  private kvManager?: Kvm;

  constructor(
    private readonly options: MessagingOptions,
    private readonly logger: JsonLogger,
  ) {}

  connect(): Promise<NatsConnection> {
    this.connecting ??= connect(safeConnectionOptions(this.options)).then((nc) => {
      this.nc = nc;
      this.connected = true;
      this.logger.event('info', 'connected to NATS', { server: nc.getServer() }, 'Messaging');
      void this.watchStatus(nc);
      return nc;
    });
    return this.connecting;
  }

  get connection(): NatsConnection {
    if (!this.nc) throw new Error('NATS is not connected yet: await connect() first');
    return this.nc;
  }

  /** The prefix of this connection's reply subjects (`_INBOX_<service>` unless configured). */
  get inboxPrefix(): string {
    return this.options.inboxPrefix ?? defaultInboxPrefix(this.options.service);
  }

  /** Whether this process may create its streams, buckets and consumers (development and tests) or only use them. */
  get provisioningMode(): 'verify' | 'apply' {
    return this.options.provisioningMode ?? 'verify';
  }

  isConnected(): boolean {
    return this.connected && !!this.nc && !this.nc.isClosed();
  }

  jetstream(): JetStreamClient {
    this.jsClient ??= jetstream(this.connection);
    return this.jsClient;
  }

  /** Checks the JetStream API on first use; a failed check is not kept, so the next call checks again. */
  jetstreamManager(): Promise<JetStreamManager> {
    this.jsManager ??= jetstreamManager(this.connection).catch((error: unknown) => {
      this.jsManager = undefined;
      throw error;
    });
    return this.jsManager;
  }

  kvm(): Kvm {
    this.kvManager ??= new Kvm(this.jetstream());
    return this.kvManager;
  }

  /** Readiness: the connection is up and JetStream answers. */
  async checkJetStream(): Promise<{ ok: boolean; detail?: string }> {
    if (!this.isConnected()) return { ok: false, detail: 'NATS disconnected' };
    try {
      await (await this.jetstreamManager()).getAccountInfo();
      return { ok: true };
    } catch (error) {
      return { ok: false, detail: `JetStream unavailable: ${(error as Error).message}` };
    }
  }

  /**
   * Nest's last shutdown hook (the messaging module registers this class): request handlers and consumers have
   * finished by now, so draining loses nothing.
   */
  async onApplicationShutdown(): Promise<void> {
    const nc = this.nc;
    if (!nc || nc.isClosed()) return;
    try {
      await nc.drain();
    } catch {
      await nc.close();
    }
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      switch (status.type) {
        case 'disconnect':
          this.connected = false;
          this.logger.event(
            'warn',
            'disconnected from NATS; reconnecting forever',
            {},
            'Messaging',
          );
          break;
        case 'reconnect':
          this.connected = true;
          this.logger.event('info', 'reconnected to NATS', {}, 'Messaging');
          break;
        case 'error':
          this.logger.event('error', 'NATS connection error', { error: status.error }, 'Messaging');
          break;
        default:
          break;
      }
    }
  }
}
