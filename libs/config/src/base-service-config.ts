import { Type } from 'class-transformer';
import { IsIn, IsInt, IsIP, IsOptional, IsString, Matches, ValidateIf } from 'class-validator';
import { IntSetting } from './settings';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * What every service reads from the environment. A service extends this class with its own fields, so one DTO
 * describes its whole configuration.
 */
export class BaseServiceConfig {
  /** Comma-separated NATS server URLs. */
  @IsString()
  @Matches(/^(nats|tls|wss?):\/\/[^\s,]+(,(nats|tls|wss?):\/\/[^\s,]+)*$/, {
    message: 'NATS_URL must be one or more comma-separated nats:// (or tls://, ws://, wss://) URLs',
  })
  NATS_URL = 'nats://127.0.0.1:4222';

  @IsOptional()
  @IsString()
  NATS_USER?: string;

  @IsOptional()
  @IsString()
  NATS_PASSWORD?: string;

  /**
   * `verify` (production): the service only checks that its streams, buckets and consumers exist, and stays not
   * ready until `tillbus provision` has created them. `apply`: it creates its own part at startup (development
   * and tests, on a server that allows it).
   */
  @IsIn(['verify', 'apply'], {
    message: 'NATS_PROVISIONING must be verify (production) or apply (development and tests)',
  })
  NATS_PROVISIONING: 'verify' | 'apply' = 'verify';

  /** Prefix of this connection's reply subjects; default `_INBOX_<service>` (auth.conf reserves it per user). */
  @IsOptional()
  @Matches(/^_INBOX[A-Za-z0-9_-]*$/, {
    message: 'NATS_INBOX_PREFIX must start with _INBOX and hold only letters, digits, _ and -',
  })
  NATS_INBOX_PREFIX?: string;

  /** PEM file of the CA that signed the NATS servers' certificates: the service verifies the server with it. */
  @IsOptional()
  @IsString()
  NATS_TLS_CA_FILE?: string;

  /** Client certificate and key (PEM), both or neither, for a server that verifies clients. */
  @ValidateIf((c: BaseServiceConfig) => c.NATS_TLS_KEY_FILE !== undefined)
  @IsString({ message: 'NATS_TLS_CERT_FILE must be set together with NATS_TLS_KEY_FILE' })
  NATS_TLS_CERT_FILE?: string;

  @ValidateIf((c: BaseServiceConfig) => c.NATS_TLS_CERT_FILE !== undefined)
  @IsString({ message: 'NATS_TLS_KEY_FILE must be set together with NATS_TLS_CERT_FILE' })
  NATS_TLS_KEY_FILE?: string;

  /**
   * Address the operations HTTP server listens on: every interface by default, as a Kubernetes probe and scrape
   * need; 127.0.0.1 keeps it on this host (the local stack).
   */
  @IsIP(undefined, {
    message:
      'OPS_HOST must be an IP address to listen on: 0.0.0.0 (every interface, the default), 127.0.0.1 (this host only), or ::',
  })
  OPS_HOST = '0.0.0.0';

  /** Port of the operations HTTP server (/metrics, /healthz, /readyz). */
  @IntSetting(0, 65535)
  OPS_PORT = 9464;

  /** Upper bound for every outgoing bus request. */
  @IntSetting(50, 600_000)
  BUS_REQUEST_TIMEOUT_MS = 5000;

  /** How long SIGTERM waits for in-flight work before draining the connection anyway. */
  @IntSetting(0, 900_000)
  SHUTDOWN_GRACE_MS = 25_000;

  /** Replicas of the JetStream streams and KV buckets the service declares: 1 locally, 3 in production. */
  @Type(() => Number)
  @IsInt()
  @IsIn([1, 3, 5], { message: 'STREAM_REPLICAS must be 1, 3 or 5 (JetStream replicas)' })
  STREAM_REPLICAS = 1;

  @IsIn(LOG_LEVELS)
  LOG_LEVEL: LogLevel = 'info';
}
