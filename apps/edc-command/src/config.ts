import { hostname } from 'node:os';
import { IsIn, Matches } from 'class-validator';
import { BaseServiceConfig, BooleanSetting, IntSetting } from '@tillbus/config';

/** The Nest token of the service's EdcCommandConfig. */
export const EDC_CONFIG = Symbol('EDC_CONFIG');

const MS = { min: 1, max: 3_600_000 };

/**
 * Everything edc-command reads from the environment (docs/services/edc-command.md has the table). The KICC
 * timeouts default to the seed's; the seed calls them defaults, so a deployment whose devices run other values
 * can set them. Never set them below the device's own: edc-command would give up while the device still works.
 */
export class EdcCommandConfig extends BaseServiceConfig {
  /** This replica's name: owner of the commands it runs. Stable across restarts, so a restart resumes them. */
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, {
    message: 'REPLICA_ID must be 1-64 characters of A-Z a-z 0-9 _ -',
  })
  REPLICA_ID =
    hostname()
      .replace(/[^A-Za-z0-9_-]/g, '-')
      .slice(0, 64) || 'edc-command';

  @IntSetting(1_000, 600_000)
  EDC_TIMEOUT_PURCHASE_MS = 95_000;

  @IntSetting(1_000, 600_000)
  EDC_TIMEOUT_PURCHASE_SIGNATURE_MS = 115_000;

  @IntSetting(1_000, 600_000)
  EDC_TIMEOUT_PURCHASE_CANCEL_MS = 85_000;

  @IntSetting(1_000, 600_000)
  EDC_TIMEOUT_GET_LAST_TRANSACTION_MS = 5_000;

  @IntSetting(1_000, 600_000)
  EDC_TIMEOUT_COMMAND_CANCEL_MS = 5_000;

  /** How long a command waits for the bridge's ack before it is sent again (same requestId). */
  @IntSetting(100, 30_000)
  EDC_ACK_TIMEOUT_MS = 2_000;

  /** `notAfter` of a command: the bridge must not start it later than this after it was sent. */
  @IntSetting(1_000, 120_000)
  EDC_DISPATCH_WINDOW_MS = 10_000;

  /** GetLastTransaction attempts per unknown result before the command is in doubt. */
  @IntSetting(1, 10)
  EDC_RECOVERY_MAX_ATTEMPTS = 3;

  /** Delay before recovery attempt n (1-based); the last value repeats. */
  @Matches(/^\d{1,7}(,\d{1,7}){0,9}$/, {
    message: 'EDC_RECOVERY_BACKOFF_MS must be comma-separated milliseconds, e.g. 0,10000,30000',
  })
  EDC_RECOVERY_BACKOFF_MS = '0,10000,30000';

  /** While the bridge is offline, recovery waits this long for it to come back before it uses up its attempts. */
  @IntSetting(0, 86_400_000)
  EDC_RECOVERY_OFFLINE_WAIT_MS = 600_000;

  /**
   * `fresh-transaction`: a GetLastTransaction answer without requestId settles a recovery only as a SUCCESS of the
   * same command and amount whose acquirerTransactionId differs from the device's previous transaction (see
   * docs/bridge-protocol.md §7). `never`: such an answer always leaves the command in doubt.
   */
  @IsIn(['fresh-transaction', 'never'])
  EDC_RECOVERY_WITHOUT_REQUEST_ID: 'fresh-transaction' | 'never' = 'fresh-transaction';

  /** Send CommandCancel when the card countdown (`paymentExpiryTime`) ends before the card was read. */
  @BooleanSetting()
  EDC_AUTO_CANCEL_ON_EXPIRY = true;

  /** An owner that has not renewed its lease for this long is dead; other replicas take its commands. */
  @IntSetting(1_000, 300_000)
  EDC_OWNER_LEASE_MS = 15_000;

  /** How often a replica looks for commands whose owner died. */
  @IntSetting(200, 300_000)
  EDC_SWEEP_INTERVAL_MS = 5_000;

  /** A full pass over every device lock, as a safety net (0: only on start and when an owner dies). */
  @IntSetting(0, 3_600_000)
  EDC_FULL_SCAN_INTERVAL_MS = 60_000;

  /** After start, a device no heartbeat has named yet is not refused as offline until this has passed. */
  @IntSetting(0, 600_000)
  EDC_PRESENCE_WARMUP_MS = 15_000;

  /** submit-and-wait: the wait when the request names none, and the most it may name. */
  @IntSetting(MS.min, MS.max)
  EDC_WAIT_DEFAULT_MS = 130_000;

  @IntSetting(MS.min, MS.max)
  EDC_WAIT_MAX_MS = 300_000;

  /** Command records live this long after their last change. */
  @IntSetting(60_000, 30 * 86_400_000)
  EDC_RECORD_TTL_MS = 72 * 3_600_000;

  /** Bridge messages processed at once by this replica. */
  @IntSetting(1, 1_024)
  EDC_CONSUMER_CONCURRENCY = 64;

  /**
   * A bridge message parked because its command's record could not be found is looked at again after this, then
   * after twice and ten times this (and every ten times this after that).
   */
  @IntSetting(100, 3_600_000)
  EDC_PARKED_RETRY_MS = 30_000;
}

export function recoveryBackoff(
  config: Pick<EdcCommandConfig, 'EDC_RECOVERY_BACKOFF_MS'>,
): number[] {
  return config.EDC_RECOVERY_BACKOFF_MS.split(',').map(Number);
}
