import type { BaseServiceConfig } from '@tillbus/config';
import type { Provisioning } from './declarations';
import type { ProvisioningMode } from './provisioning';

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
  /** The streams, KV buckets and durable consumers this service uses (its part of the declarations). */
  provisioning?: Provisioning;
  /**
   * `verify` (the default, production): wait, not ready, until they exist. `apply`: create or update them at
   * startup (development and tests only; the production NATS users may not).
   */
  provisioningMode?: ProvisioningMode;
  /** TLS towards the NATS servers (see tlsConnectionOptions). */
  tls?: NatsTlsOptions;
}

export interface NatsTlsOptions {
  /** PEM file of the CA that signed the servers' certificates. */
  caFile?: string;
  /** Client certificate and key (PEM), for servers that verify clients too. */
  certFile?: string;
  keyFile?: string;
}

export interface KvBucketDeclaration {
  name: string;
  /** Keep entries at most this long (0 = forever). */
  ttlMs?: number;
  history?: number;
  replicas?: number;
  maxBytes?: number;
  /**
   * Whether any replica may answer a read (JetStream direct get). `false` sends every read to the stream leader:
   * a replica that rejoined after a partition and still lags would otherwise answer "no such key" for an entry
   * written while it was cut off. Unset: the client's default (direct gets on).
   */
  allowDirect?: boolean;
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
  | 'NATS_PROVISIONING'
  | 'NATS_INBOX_PREFIX'
  | 'NATS_TLS_CA_FILE'
  | 'NATS_TLS_CERT_FILE'
  | 'NATS_TLS_KEY_FILE'
>;

/**
 * A service's MessagingModule.forRoot options from its validated configuration, the same way for every service:
 * `MessagingModule.forRoot(messagingOptionsFromConfig(SERVICE_NAME, config, serviceProvisioning(SERVICE_NAME, config)))`.
 */
export function messagingOptionsFromConfig(
  service: string,
  config: MessagingConfig,
  provisioning?: Provisioning,
): MessagingOptions {
  const tls: NatsTlsOptions = {
    ...(config.NATS_TLS_CA_FILE ? { caFile: config.NATS_TLS_CA_FILE } : {}),
    ...(config.NATS_TLS_CERT_FILE ? { certFile: config.NATS_TLS_CERT_FILE } : {}),
    ...(config.NATS_TLS_KEY_FILE ? { keyFile: config.NATS_TLS_KEY_FILE } : {}),
  };
  return {
    service,
    servers: config.NATS_URL,
    user: config.NATS_USER,
    pass: config.NATS_PASSWORD,
    requestTimeoutMs: config.BUS_REQUEST_TIMEOUT_MS,
    shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
    provisioningMode: config.NATS_PROVISIONING,
    ...(config.NATS_INBOX_PREFIX ? { inboxPrefix: config.NATS_INBOX_PREFIX } : {}),
    ...(Object.keys(tls).length > 0 ? { tls } : {}),
    ...(provisioning ? { provisioning } : {}),
  };
}
