import { BaseServiceConfig, BooleanSetting, IntSetting, loadConfig } from '@tillbus/config';
import { Transform } from 'class-transformer';
import {
  ArrayNotEmpty,
  ArrayUnique,
  IsArray,
  IsIn,
  IsOptional,
  IsString,
  Matches,
} from 'class-validator';
import { BUCKETS as DECLARED_BUCKETS } from '@tillbus/messaging';
import { HEALTH_VENDORS, type HealthVendor } from '@tillbus/result-codes';

/** `antom, adyen` -> ['antom', 'adyen'] (blanks around a name are ignored, empty names are kept to be refused). */
const toList = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? value.split(',').map((name) => name.trim()) : value;

const VENDORS_MESSAGE = `DEVICE_HEALTH_VENDORS must be a comma-separated subset of ${HEALTH_VENDORS.join(',')}`;

/** Every setting of device-health; docs/services/device-health.md lists them with their meaning. */
export class DeviceHealthConfig extends BaseServiceConfig {
  /**
   * The vendors whose terminals this deployment polls and diagnoses (its keys are mounted for these only). Two
   * deployments with disjoint vendors split the fleet; docs/services/device-health.md, "Per-vendor deployments".
   */
  @Transform(toList)
  @IsArray({ message: VENDORS_MESSAGE })
  @ArrayNotEmpty({ message: `${VENDORS_MESSAGE} (at least one)` })
  @ArrayUnique({ message: 'DEVICE_HEALTH_VENDORS names a vendor twice' })
  @IsIn(HEALTH_VENDORS, {
    each: true,
    message: ({ value }) =>
      `${VENDORS_MESSAGE} (lower case), got "${Array.isArray(value) ? value.join(',') : String(value)}"`,
  })
  DEVICE_HEALTH_VENDORS: HealthVendor[] = [...HEALTH_VENDORS];

  /** Poll the fleet (off: answer the bus only, e.g. a read-only replica or a test). */
  @BooleanSetting({ message: 'POLL_ENABLED must be true or false' })
  POLL_ENABLED = true;

  /** Every terminal is diagnosed once per interval; all replicas must use the same value. */
  @IntSetting(1000, 86_400_000)
  POLL_INTERVAL_MS = 30_000;

  /** Diagnoses in flight at once on one replica. */
  @IntSetting(1, 4096)
  POLL_CONCURRENCY = 32;

  /** How often the scheduler looks for slots that came due. */
  @IntSetting(10, 5000)
  POLL_TICK_MS = 100;

  /** Upper bound of one diagnosis (both Adyen steps together); must be below half the interval. */
  @IntSetting(100, 600_000)
  DIAGNOSIS_TIMEOUT_MS = 5000;

  /** A cached answer older than this many intervals is reported as UNKNOWN / STALE. */
  @IntSetting(1, 1000)
  STALE_AFTER_INTERVALS = 3;

  /** Battery below this percentage is BATTERY_LOW. */
  @IntSetting(0, 100)
  BATTERY_LOW_PERCENT = 20;

  /** A Mobile SDK whose sdkExpiry is closer than this is SDK_EXPIRING. */
  @IntSetting(0, 365)
  SDK_EXPIRY_WARNING_DAYS = 14;

  /** Seed the registry from this YAML or JSON file at boot. */
  @IsOptional()
  @IsString()
  TERMINALS_FILE?: string;

  /** create: only add terminals the registry lacks; overwrite: the file wins. */
  @IsIn(['create', 'overwrite'])
  TERMINALS_FILE_MODE: 'create' | 'overwrite' = 'create';

  /** Resolved secrets (keys, passphrases, API keys) are re-read after this long, so rotation needs no restart. */
  @IntSetting(0, 86_400_000)
  SECRET_CACHE_MS = 60_000;

  /** Response-Time skew beyond which a (still used) Antom answer is reported CLOCK_SKEW. */
  @IntSetting(1000, 86_400_000)
  ANTOM_MAX_SKEW_MS = 300_000;

  /** Request-Time format sent to Antom terminals. */
  @IsIn(['epoch-millis', 'iso'])
  ANTOM_TIME_FORMAT: 'epoch-millis' | 'iso' = 'epoch-millis';

  /** SaleID in every Adyen MessageHeader. */
  @IsString()
  @Matches(/^[A-Za-z0-9_.-]{1,64}$/, { message: 'ADYEN_SALE_ID must be 1-64 of A-Z a-z 0-9 _ . -' })
  ADYEN_SALE_ID = 'tillbus-device-health';

  /** The Adyen environment of the library client (TEST or LIVE). */
  @IsIn(['TEST', 'LIVE'])
  ADYEN_ENVIRONMENT: 'TEST' | 'LIVE' = 'TEST';

  /** Region of the LIVE cloud Terminal API. */
  @IsOptional()
  @IsIn(['EU', 'AU', 'US', 'APSE'])
  ADYEN_REGION?: 'EU' | 'AU' | 'US' | 'APSE';

  /** Replaces the cloud Terminal API base URL (a stand-in such as the adyen-fleet simulator). */
  @IsOptional()
  @Matches(/^https:\/\/[^\s]+$/, { message: 'ADYEN_CLOUD_ENDPOINT must be an https:// URL' })
  ADYEN_CLOUD_ENDPOINT?: string;

  /** The CA certificate local terminals are verified with (Adyen's terminal root CA, or a simulator's). */
  @IsOptional()
  @IsString()
  ADYEN_TERMINAL_CA_FILE?: string;

  /** A CA file for the cloud endpoint; only for a stand-in (it enables the library's terminal-name check). */
  @IsOptional()
  @IsString()
  ADYEN_CLOUD_CA_FILE?: string;

  /** Largest clock error of any replica: a new ServiceID slot holder waits twice this long. */
  @IntSetting(0, 3_600_000)
  ADYEN_MAX_CLOCK_SKEW_MS = 1000;

  /** Lease of this replica's ServiceID slot; renewed every third of it. */
  @IntSetting(1000, 3_600_000)
  ADYEN_SERVICE_ID_LEASE_MS = 30_000;

  /** Health events kept in the stream (per terminal subject, and in total age). */
  @IntSetting(1, 100_000)
  EVENTS_MAX_PER_TERMINAL = 100;

  @IntSetting(60_000)
  EVENTS_MAX_AGE_MS = 7 * 86_400_000;

  /** Names this replica in claims and logs; defaults to host name and process id. */
  @IsOptional()
  @Matches(/^[A-Za-z0-9_.-]{1,64}$/, { message: 'REPLICA_ID must be 1-64 of A-Z a-z 0-9 _ . -' })
  REPLICA_ID?: string;
}

export class DeviceHealthConfigError extends Error {
  override readonly name = 'DeviceHealthConfigError';
}

/** Whether this deployment polls and diagnoses terminals of this vendor. */
export function servesVendor(
  config: Pick<DeviceHealthConfig, 'DEVICE_HEALTH_VENDORS'>,
  vendor: HealthVendor,
) {
  return config.DEVICE_HEALTH_VENDORS.includes(vendor);
}

/** Loads and cross-checks the settings (rules one field cannot express alone). */
export function loadDeviceHealthConfig(
  env: Record<string, string | undefined> = process.env,
): DeviceHealthConfig {
  const config = loadConfig(DeviceHealthConfig, env);
  if (config.DIAGNOSIS_TIMEOUT_MS * 2 > config.POLL_INTERVAL_MS) {
    throw new DeviceHealthConfigError(
      'invalid configuration: DIAGNOSIS_TIMEOUT_MS must be at most half of POLL_INTERVAL_MS (a diagnosis must end before its slot is given up)',
    );
  }
  if (config.ADYEN_ENVIRONMENT === 'LIVE' && !config.ADYEN_REGION && !config.ADYEN_CLOUD_ENDPOINT) {
    throw new DeviceHealthConfigError(
      'invalid configuration: ADYEN_ENVIRONMENT=LIVE needs ADYEN_REGION (or ADYEN_CLOUD_ENDPOINT) for cloud terminals',
    );
  }
  return config;
}

/** KV buckets of device-health, shared by every replica (declared in libs/messaging declarations). */
export const BUCKETS = DECLARED_BUCKETS.deviceHealth;

export const DEVICE_HEALTH_CONFIG = Symbol('DEVICE_HEALTH_CONFIG');
/** The environment secret references are resolved from (process.env in production). */
export const SECRET_ENV = Symbol('SECRET_ENV');
/** This replica's name, in claims and logs. */
export const REPLICA_ID = Symbol('REPLICA_ID');
/** Terminals read from TERMINALS_FILE (validated before the app starts). */
export const SEED_TERMINALS = Symbol('SEED_TERMINALS');
