import {
  BaseServiceConfig,
  BooleanSetting,
  ConfigError,
  IntSetting,
  IsSecretRef,
  loadConfig,
  NumberSetting,
} from '@tillbus/config';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsString, Matches } from 'class-validator';

/**
 * The whole configuration of order-reconciliation, read once at boot. Every variable is documented in
 * docs/services/order-reconciliation.md.
 */
export class OrderReconciliationConfig extends BaseServiceConfig {
  /** Port of the D-Store HTTP edge (POST /v2/pos/*). */
  @IntSetting(0, 65535)
  HTTP_PORT = 8080;

  @IsString()
  HTTP_HOST = '0.0.0.0';

  /** Client-Ids D-Store may call us with (comma-separated); any other answers ACCESS_DENIED. */
  @Transform(({ value }) =>
    typeof value === 'string'
      ? value
          .split(',')
          .map((v) => v.trim())
          .filter((v) => v.length > 0)
      : value,
  )
  @IsArray()
  @ArrayMinSize(1, { message: 'DSTORE_CLIENT_IDS must name at least one Client-Id' })
  @ArrayMaxSize(64)
  @Matches(/^[\x21-\x7e]{1,128}$/, {
    each: true,
    message: 'each DSTORE_CLIENT_IDS entry must be 1-128 visible ASCII characters',
  })
  DSTORE_CLIENT_IDS!: string[];

  /** D-Store's RSA public key (X.509 SPKI, PEM or Base64 DER), by reference. */
  @IsSecretRef()
  DSTORE_PUBLIC_KEY_REF!: string;

  /** Our RSA private key (PKCS#8), by reference: signs every answer and every notifyOrderChange. */
  @IsSecretRef()
  POS_PRIVATE_KEY_REF!: string;

  /** keyVersion written into our Signature headers. */
  @Matches(/^[A-Za-z0-9._-]{1,16}$/)
  POS_KEY_VERSION = '1';

  /** The Client-Id D-Store gave us: sent on notifyOrderChange and expected back on its answers. */
  @Matches(/^[\x21-\x7e]{1,128}$/, {
    message: 'POS_CLIENT_ID must be 1-128 visible ASCII characters',
  })
  POS_CLIENT_ID!: string;

  /** Base URL of D-Store; notifications go to <base>/v2/pos/notifyOrderChange. */
  @Matches(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, {
    message: 'DSTORE_BASE_URL must be an http(s) URL without query or fragment',
  })
  DSTORE_BASE_URL!: string;

  /** Accepted Request-Time (and D-Store Response-Time) skew in either direction. */
  @IntSetting(1000, 3_600_000)
  SIGNATURE_WINDOW_MS = 300_000;

  /** Sustained requests per second per Client-Id, per replica. */
  @NumberSetting(0.01, 1_000_000)
  RATE_LIMIT_PER_SECOND = 100;

  /** Burst size per Client-Id, per replica. */
  @IntSetting(1, 1_000_000)
  RATE_LIMIT_BURST = 200;

  /**
   * Sustained requests per second per source address, per replica: counted before anything else, so a flood from
   * one address is refused before it costs a signature check or a signed answer. Keep it above the Client-Id limit.
   */
  @NumberSetting(0.01, 1_000_000)
  SOURCE_RATE_LIMIT_PER_SECOND = 200;

  /** Burst size per source address, per replica. */
  @IntSetting(1, 1_000_000)
  SOURCE_RATE_LIMIT_BURST = 400;

  /**
   * 1: the source is the last X-Forwarded-For address (the one our ingress appended), for an edge that only the
   * ingress can reach (the shipped NetworkPolicy); 0: the connection's own remote address.
   */
  @BooleanSetting({ message: 'SOURCE_FROM_FORWARDED_FOR must be 1 or 0' })
  SOURCE_FROM_FORWARDED_FOR = false;

  /** Source addresses the limiter remembers at once; beyond it the oldest are forgotten (bounded memory). */
  @IntSetting(16, 10_000_000)
  SOURCE_RATE_LIMIT_MAX_SOURCES = 100_000;

  /** Time a connection has to send a request's headers; then it is answered 408 and closed. */
  @IntSetting(100, 600_000)
  HTTP_HEADERS_TIMEOUT_MS = 10_000;

  /** Time a connection has to send a whole request, headers and body; then it is answered 408 and closed. */
  @IntSetting(100, 600_000)
  HTTP_REQUEST_TIMEOUT_MS = 30_000;

  /** An idle keep-alive connection is closed after this; keep it above the ingress's upstream idle timeout. */
  @IntSetting(100, 600_000)
  HTTP_KEEP_ALIVE_TIMEOUT_MS = 65_000;

  /** Open connections at once, per replica; beyond it a new connection is closed at once. */
  @IntSetting(1, 1_000_000)
  HTTP_MAX_CONNECTIONS = 1024;

  /** Refusals of one reason are logged as one line per this many (carrying the count), or one a minute. */
  @IntSetting(1, 100_000_000)
  REFUSAL_LOG_EVERY = 1000;

  /** Largest request body accepted; a larger one answers PARAM_ILLEGAL. */
  @IntSetting(1024, 1024 * 1024)
  MAX_BODY_BYTES = 256 * 1024;

  /** Upper bound on one KV read or write made while answering D-Store; beyond it the answer is U. */
  @IntSetting(50, 60_000)
  STORE_TIMEOUT_MS = 3000;

  /** Timeout of one notifyOrderChange attempt (connect, send, answer). */
  @IntSetting(100, 120_000)
  NOTIFY_TIMEOUT_MS = 10_000;

  /** Attempts per round before a notification is dead-lettered. */
  @IntSetting(1, 1000)
  NOTIFY_MAX_ATTEMPTS = 8;

  @IntSetting(0, 3_600_000)
  NOTIFY_BASE_DELAY_MS = 1000;

  @IntSetting(0, 86_400_000)
  NOTIFY_MAX_DELAY_MS = 300_000;

  @NumberSetting(1, 10)
  NOTIFY_BACKOFF_MULTIPLIER = 2;

  @NumberSetting(0, 1)
  NOTIFY_JITTER_RATIO = 0.2;

  /** Notifications this replica sends at once (different orders; one order is always sequential). */
  @IntSetting(1, 256)
  OUTBOX_CONCURRENCY = 16;

  /** Redelivery of an outbox message whose replica died; keep it above NOTIFY_TIMEOUT_MS. */
  @IntSetting(500, 600_000)
  OUTBOX_ACK_WAIT_MS = 30_000;

  /** Deliveries of one POS lifecycle event before it is dead-lettered (every 2 s: 200 is about 7 minutes). */
  @IntSetting(1, 1000)
  EVENTS_MAX_DELIVER = 200;

  @IntSetting(500, 600_000)
  EVENTS_ACK_WAIT_MS = 30_000;

  /** Default age after which a non-final order counts as stuck (the stuck query can override it). */
  @IntSetting(0, 365 * 86_400_000)
  STUCK_AFTER_MS = 3_600_000;

  /** How long an order stays in KV after its last change. */
  @IntSetting(60_000, 3650 * 86_400_000)
  ORDER_RETENTION_MS = 30 * 86_400_000;

  /** How long the TILLBUS_ORDERS stream keeps events. */
  @IntSetting(60_000, 3650 * 86_400_000)
  ORDERS_STREAM_MAX_AGE_MS = 7 * 86_400_000;

  /** The orders-by-status gauge rebuilds from KV this often (KV expiry sends no delete to watchers). */
  @IntSetting(1000, 86_400_000)
  ORDERS_GAUGE_RESYNC_MS = 3_600_000;

  /**
   * A POS refund on a CANCELLED, REJECTED or ORDER_FAIL order: `refuse` (default) or `allow` (still bounded by what
   * was paid minus earlier refunds). D-Store's page does not say whether it takes one; see the service doc.
   */
  @IsIn(['refuse', 'allow'], { message: 'REFUND_ON_CANCELLED must be refuse or allow' })
  REFUND_ON_CANCELLED: 'refuse' | 'allow' = 'refuse';
}

export const ORDER_RECONCILIATION_CONFIG = Symbol('ORDER_RECONCILIATION_CONFIG');

/** Problems that cross fields, reported like the DTO's own. */
export function crossFieldProblems(config: OrderReconciliationConfig): string[] {
  const problems: string[] = [];
  if (config.NOTIFY_MAX_DELAY_MS < config.NOTIFY_BASE_DELAY_MS)
    problems.push('NOTIFY_MAX_DELAY_MS must be >= NOTIFY_BASE_DELAY_MS');
  if (config.HTTP_REQUEST_TIMEOUT_MS < config.HTTP_HEADERS_TIMEOUT_MS)
    problems.push('HTTP_REQUEST_TIMEOUT_MS must be >= HTTP_HEADERS_TIMEOUT_MS');
  if (config.OUTBOX_ACK_WAIT_MS <= config.NOTIFY_TIMEOUT_MS)
    problems.push('OUTBOX_ACK_WAIT_MS must be greater than NOTIFY_TIMEOUT_MS');
  return problems;
}

/** Reads and validates the environment once; every problem is reported in one ConfigError. */
export function loadOrderReconciliationConfig(
  env: Record<string, string | undefined> = process.env,
): OrderReconciliationConfig {
  const config = loadConfig(OrderReconciliationConfig, env);
  const problems = crossFieldProblems(config);
  if (problems.length > 0) throw new ConfigError([{ field: 'env', problems }]);
  return config;
}
