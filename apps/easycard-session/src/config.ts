import { IsOptional, IsString, Matches } from 'class-validator';
import {
  BaseServiceConfig,
  BooleanSetting,
  ConfigError,
  IntSetting,
  loadConfig,
  NumberSetting,
} from '@tillbus/config';
import { SIGN_ON_VALIDITY_MS } from '@tillbus/result-codes';
import type { Violation } from '@tillbus/validation';

const HH_MM = /^([01]\d|2[0-3]):[0-5]\d$/;
const FIELD_NAME = /^\w{1,64}$/;

/**
 * Everything easycard-session reads from the environment (docs/services/easycard-session.md has the table).
 * Secrets are references (`env:NAME`, `file:/path` or a name under SECRETS_DIR), resolved at boot.
 */
export class EasyCardSessionConfig extends BaseServiceConfig {
  /**
   * JSON array, one object per merchant: {mchId, url, tradePassword, publicKey, iv}. The last three are secret
   * references. See merchants.ts.
   */
  @IsString()
  INTELLA_MERCHANTS!: string;

  /** DeviceQuery: the Data field listing the readers (not documented by intella, hence configurable). */
  @Matches(FIELD_NAME)
  INTELLA_DEVICE_LIST_FIELD = 'DeviceList';

  /** DeviceQuery: when the list holds objects, the field with the reader id. */
  @Matches(FIELD_NAME)
  INTELLA_DEVICE_LIST_ID_FIELD = 'DeviceId';

  /** Upper bound of one HTTP call to intella (connect, send, answer). */
  @IntSetting(100, 120_000)
  INTELLA_TIMEOUT_MS = 10_000;

  /** The Retry rule's bound: requests per operation, the first included (protocols.md: 3). */
  @IntSetting(1, 10)
  INTELLA_MAX_TRIES = 3;

  /** Secret reference to the 32-byte key (Base64 or hex) that encrypts NewAESKey at rest (AES-256-GCM). */
  @IsString()
  EASYCARD_KEY_ENCRYPTION_KEY!: string;

  /** The previous key during a rotation: still opens records sealed with it. */
  @IsOptional()
  @IsString()
  EASYCARD_KEY_ENCRYPTION_KEY_PREVIOUS?: string;

  /** Renewal starts this long before the 30 h sign-on expires. */
  @IntSetting(60_000, SIGN_ON_VALIDITY_MS - 60_000)
  EASYCARD_RENEWAL_MARGIN_MS = 2 * 3_600_000;

  /** An `expiring` event goes out when a sign-on is this close to expiry and still not renewed. */
  @IntSetting(60_000, SIGN_ON_VALIDITY_MS)
  EASYCARD_EXPIRING_NOTICE_MS = 3_600_000;

  /** DeviceQuery runs at boot and then this often (per merchant, by one replica). */
  @IntSetting(1000)
  EASYCARD_DISCOVERY_INTERVAL_MS = 3_600_000;

  /** How often each replica looks for work (sign-ons, settlements, expiry). Real time. */
  @IntSetting(10, 60_000)
  EASYCARD_TICK_MS = 5000;

  /** A replica's claim on a reader's sign-on or settlement; after this (real time) another replica takes over. */
  @IntSetting(1000, 3_600_000)
  EASYCARD_LEASE_MS = 60_000;

  /** Sign-ons and settlements this replica runs at once. */
  @IntSetting(1, 256)
  EASYCARD_MAX_CONCURRENT = 8;

  @IntSetting(1)
  EASYCARD_BACKOFF_BASE_MS = 30_000;

  @NumberSetting(1, 10)
  EASYCARD_BACKOFF_FACTOR = 2;

  @IntSetting(1)
  EASYCARD_BACKOFF_MAX_MS = 15 * 60_000;

  /** Run the daily Settlement per reader (and the catch-up one after a 010117). */
  @BooleanSetting()
  EASYCARD_SETTLEMENT_ENABLED = true;

  /** Local time (HH:mm, at EASYCARD_UTC_OFFSET_MINUTES) from which the daily Settlement runs. */
  @Matches(HH_MM, { message: 'EASYCARD_SETTLEMENT_TIME must be HH:mm' })
  EASYCARD_SETTLEMENT_TIME = '22:00';

  /** Local closing time: the daily Settlement must be done before it. */
  @Matches(HH_MM, { message: 'EASYCARD_CLOSING_TIME must be HH:mm' })
  EASYCARD_CLOSING_TIME = '23:30';

  /** The business day's time zone as minutes east of UTC: Taiwan, +08:00. */
  @IntSetting(-720, 840)
  EASYCARD_UTC_OFFSET_MINUTES = 480;

  /** Demo and test only: simulated ms per real ms, counted from EASYCARD_CLOCK_EPOCH_MS. */
  @NumberSetting(0.001, 1_000_000)
  EASYCARD_CLOCK_RATE = 1;

  @IsOptional()
  @IntSetting(1)
  EASYCARD_CLOCK_EPOCH_MS?: number;

  /** Demo and test only: a file holding ms added to the clock, re-read when it changes. Never in production. */
  @IsOptional()
  @IsString()
  @Matches(/^\//, { message: 'EASYCARD_CLOCK_OFFSET_FILE must be an absolute path' })
  EASYCARD_CLOCK_OFFSET_FILE?: string;
}

export function minutesOf(hhmm: string): number {
  const [hours, minutes] = hhmm.split(':').map(Number);
  return hours * 60 + minutes;
}

/** Loads and validates the environment, including the rules that tie fields together. */
export function loadEasyCardSessionConfig(
  env: Record<string, string | undefined> = process.env,
): EasyCardSessionConfig {
  const config = loadConfig(EasyCardSessionConfig, env);
  const violations: Violation[] = [];
  if (minutesOf(config.EASYCARD_SETTLEMENT_TIME) >= minutesOf(config.EASYCARD_CLOSING_TIME)) {
    violations.push({
      field: 'EASYCARD_SETTLEMENT_TIME',
      problems: ['must be earlier than EASYCARD_CLOSING_TIME (same day)'],
    });
  }
  if (config.EASYCARD_CLOCK_RATE !== 1 && config.EASYCARD_CLOCK_EPOCH_MS === undefined) {
    violations.push({
      field: 'EASYCARD_CLOCK_EPOCH_MS',
      problems: [
        'is required when EASYCARD_CLOCK_RATE is not 1 (replicas must share the timeline)',
      ],
    });
  }
  if (config.EASYCARD_BACKOFF_MAX_MS < config.EASYCARD_BACKOFF_BASE_MS) {
    violations.push({
      field: 'EASYCARD_BACKOFF_MAX_MS',
      problems: ['must not be below EASYCARD_BACKOFF_BASE_MS'],
    });
  }
  if (config.EASYCARD_LEASE_MS <= config.INTELLA_MAX_TRIES * config.INTELLA_TIMEOUT_MS) {
    violations.push({
      field: 'EASYCARD_LEASE_MS',
      problems: [
        'must exceed INTELLA_MAX_TRIES x INTELLA_TIMEOUT_MS, or a slow attempt loses its lease',
      ],
    });
  }
  if (violations.length > 0) throw new ConfigError(violations);
  return config;
}
