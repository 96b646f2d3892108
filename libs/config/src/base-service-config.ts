import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches } from 'class-validator';
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
