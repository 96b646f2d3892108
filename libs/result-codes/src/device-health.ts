/*
 * device-health's vendor-neutral codes: the health statuses, the reason codes with their meaning and action, and
 * how a diagnosis exchange ended. The service, its bus replies and events, its metrics and the CLI share them.
 */

/**
 * The one vendor-neutral answer to "can this terminal take a payment right now, and if not, why?".
 *
 * A status is derived from the reasons, never set on its own: the most severe reason wins.
 * - DOWN: it cannot take a payment now (a tampered terminal is always DOWN);
 * - UNKNOWN: we cannot tell (our keys or configuration are wrong, the answer was unreadable, or it is stale);
 * - DEGRADED: it can take a payment, with a limit someone should look at (no receipt paper, low battery, busy);
 * - READY: nothing stands in the way (advisory reasons such as paper low may still be listed).
 */
export const HEALTH_STATUSES = ['READY', 'DEGRADED', 'DOWN', 'UNKNOWN'] as const;
export type HealthStatus = (typeof HEALTH_STATUSES)[number];

/** The vendors device-health diagnoses terminals of. */
export const HEALTH_VENDORS = ['antom', 'adyen'] as const;
export type HealthVendor = (typeof HEALTH_VENDORS)[number];

export type HealthSeverity = 'down' | 'unknown' | 'degraded' | 'advisory';

export interface HealthReasonRow {
  readonly severity: HealthSeverity;
  readonly meaning: string;
  readonly action: string;
}

/** Stable reason codes (the API, the events and the metrics use these names). */
export const HEALTH_REASONS = {
  TAMPERED: {
    severity: 'down',
    meaning: 'anti-removal switches were triggered (tamperStatus ARS_TRIGGERED)',
    action: 'stop using the terminal now and call the vendor',
  },
  NETWORK_DOWN: {
    severity: 'down',
    meaning: 'the terminal reports no network connection',
    action: 'check the network cable, Wi-Fi and router',
  },
  HOST_UNREACHABLE: {
    severity: 'down',
    meaning: 'the terminal cannot reach the payment host',
    action: 'check the store firewall and internet connection',
  },
  DEVICE_NOT_READY: {
    severity: 'down',
    meaning: 'the terminal reports it is not ready (Antom globalStatus N)',
    action: 'restart the terminal',
  },
  MAINTENANCE: {
    severity: 'down',
    meaning: 'the terminal is in maintenance processing',
    action: 'wait; alert store staff if it lasts',
  },
  DEVICE_FAULT: {
    severity: 'down',
    meaning: 'the terminal reports its hardware out of order or unavailable',
    action: 'have store staff check or replace the terminal',
  },
  UNREACHABLE: {
    severity: 'down',
    meaning: 'the terminal did not answer (refused, reset, unreachable or timed out)',
    action: 'check that the terminal is on and on the network',
  },
  SDK_EXPIRED: {
    severity: 'down',
    meaning: 'the Mobile SDK version has expired; transactions are blocked',
    action: 'update the app with the current Mobile SDK',
  },
  ATTESTATION_REJECTED: {
    severity: 'down',
    meaning: 'the Mobile SDK detected a security threat on the device',
    action: 'stop taking payments on the device; show the resolvable issues to the operator',
  },
  AUTH_ERROR: {
    severity: 'unknown',
    meaning:
      'the exchange was refused or could not be trusted (signature, key, Client-Id, passphrase or API key)',
    action: 'check the key references and key versions in the registry entry',
  },
  CONFIG_ERROR: {
    severity: 'unknown',
    meaning:
      'the registry entry or the service configuration is wrong (secret missing, POIID unknown, TLS trust)',
    action: 'fix the registry entry or the service settings',
  },
  MALFORMED_RESPONSE: {
    severity: 'unknown',
    meaning: 'the answer was not a valid diagnosis (garbage, wrong types, truncated)',
    action: 'check the terminal firmware; diagnose again',
  },
  VENDOR_ERROR: {
    severity: 'unknown',
    meaning: 'the terminal or vendor answered with an error',
    action: 'diagnose again; call the vendor if it persists',
  },
  STALE: {
    severity: 'unknown',
    meaning: 'the last diagnosis is older than the staleness limit',
    action: 'check that device-health replicas are running and polling',
  },
  NOT_YET_DIAGNOSED: {
    severity: 'unknown',
    meaning: 'the terminal has not been diagnosed since it was registered',
    action: 'wait one interval, or ask for a diagnosis',
  },
  ATTESTATION_FAILED: {
    severity: 'degraded',
    meaning: 'the Mobile SDK could not attest the device (often no internet)',
    action: 'restore connectivity, then diagnose again',
  },
  ATTESTATION_EXPIRED: {
    severity: 'degraded',
    meaning: 'the Mobile SDK attestation token expired',
    action: 'restore connectivity, then diagnose again',
  },
  OFFLINE_MODE: {
    severity: 'degraded',
    meaning:
      'the Mobile SDK is offline: card payments are stored on the device and forwarded to Adyen later (store and forward)',
    action: 'restore connectivity before the store-and-forward window closes',
  },
  OFFLINE_PAYMENTS_UNFORWARDED: {
    severity: 'degraded',
    meaning: 'stored offline payments have not been forwarded to Adyen',
    action: 'restore connectivity; alert an operator if forwarding keeps failing',
  },
  UNCONFIRMED_BATCHES: {
    severity: 'degraded',
    meaning: 'payments are waiting to be sent to the payment host for completion',
    action: 'check the network; they settle once the host is reached',
  },
  PRINTER_NO_PAPER: {
    severity: 'degraded',
    meaning: 'the receipt printer has no paper',
    action: 'load a paper roll',
  },
  PRINTER_FAULT: {
    severity: 'degraded',
    meaning: 'the receipt printer is jammed, out of order or disconnected',
    action: 'have store staff check the printer',
  },
  BATTERY_LOW: {
    severity: 'degraded',
    meaning: 'the battery is below the configured level',
    action: 'put the terminal on its charger',
  },
  BUSY: {
    severity: 'degraded',
    meaning: 'the terminal is busy with another request (not broken)',
    action: 'retry when the current transaction ends',
  },
  PRINTER_PAPER_LOW: {
    severity: 'advisory',
    meaning: 'the paper roll is nearly used up',
    action: 'load a new roll soon',
  },
  SDK_EXPIRING: {
    severity: 'advisory',
    meaning: 'the Mobile SDK version expires soon',
    action: 'schedule an app update',
  },
  // Tolerant reading (protocols.md, top): the answer was used; details.unrecognised lists each field and value.
  UNRECOGNISED_VALUE: {
    severity: 'advisory',
    meaning:
      'the terminal sent a value this version does not know (kept in details.unrecognised); the rest was used',
    action: "check the vendor's release notes and add the value to the code tables",
  },
  // Antom's SDKs never check a response's time: a correctly signed answer is used; details.clockSkewMs says by how much.
  CLOCK_SKEW: {
    severity: 'advisory',
    meaning:
      "the terminal's clock is off by more than the allowed window; its signed answer was still used",
    action: "set the terminal's clock (NTP); signed requests to it may start failing",
  },
} as const satisfies Record<string, HealthReasonRow>;

export type HealthReason = keyof typeof HEALTH_REASONS;
export const HEALTH_REASON_NAMES = Object.keys(HEALTH_REASONS) as HealthReason[];

/** How a diagnosis exchange ended, for metrics: bounded and vendor-neutral. */
export const DIAGNOSIS_OUTCOMES = [
  'ok',
  'busy',
  'unreachable',
  'timeout',
  'auth_error',
  'config_error',
  'malformed',
  'vendor_error',
] as const;
export type DiagnosisOutcome = (typeof DIAGNOSIS_OUTCOMES)[number];
