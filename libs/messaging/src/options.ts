import type { BaseServiceConfig } from '@tillbus/config';
import type { StreamDeclaration } from './jetstream';

export interface MessagingOptions {
  /** The service name: the queue group of every handler and the NATS connection name. */
  service: string;
  /** Comma-separated server URLs. */
  servers: string;
  user?: string;
  pass?: string;
  /**
   * Prefix of this connection's reply inboxes; defaults to `_INBOX_<service>`. A per-service prefix lets NATS
   * permissions give each service its own replies only (subscribe `_INBOX_<service>.>`), so no other user of the
   * account can read what JetStream delivers to it.
   */
  inboxPrefix?: string;
  /** Upper bound for every outgoing request. */
  requestTimeoutMs: number;
  /** How long shutdown waits for in-flight handlers and consumers before draining anyway. */
  shutdownGraceMs: number;
  /** Replicas of the streams and buckets this service declares, unless a declaration says otherwise. */
  streamReplicas?: number;
  /** Streams and KV buckets this service declares at startup (idempotent). */
  streams?: StreamDeclaration[];
  buckets?: KvBucketDeclaration[];
}

export interface KvBucketDeclaration {
  name: string;
  /** Keep entries at most this long (0 = forever). */
  ttlMs?: number;
  history?: number;
  replicas?: number;
  maxBytes?: number;
}

export const MESSAGING_OPTIONS = Symbol('MESSAGING_OPTIONS');

/** The settings every service config (BaseServiceConfig) holds that the messaging module reads. */
export type MessagingConfig = Pick<
  BaseServiceConfig,
  | 'NATS_URL'
  | 'NATS_USER'
  | 'NATS_PASSWORD'
  | 'BUS_REQUEST_TIMEOUT_MS'
  | 'SHUTDOWN_GRACE_MS'
  | 'STREAM_REPLICAS'
>;

/**
 * A service's MessagingModule.forRoot options from its validated configuration, the same way for every service:
 * `MessagingModule.forRoot(messagingOptionsFromConfig(SERVICE_NAME, config, { streams, buckets }))`.
 */
export function messagingOptionsFromConfig(
  service: string,
  config: MessagingConfig,
  declarations: Pick<MessagingOptions, 'streams' | 'buckets'> = {},
): MessagingOptions {
  return {
    service,
    servers: config.NATS_URL,
    user: config.NATS_USER,
    pass: config.NATS_PASSWORD,
    requestTimeoutMs: config.BUS_REQUEST_TIMEOUT_MS,
    shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
    streamReplicas: config.STREAM_REPLICAS,
    ...(declarations.streams ? { streams: declarations.streams } : {}),
    ...(declarations.buckets ? { buckets: declarations.buckets } : {}),
  };
}
