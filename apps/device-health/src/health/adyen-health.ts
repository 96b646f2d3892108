import type { HealthDetails } from '@tillbus/contracts';
import {
  attestationVerdict,
  hostReachability,
  isTampered,
  offlinePayments,
  type ParsedDiagnosis,
} from '@tillbus/protocols-adyen';
import {
  isAdyenAttestationStatus,
  isAdyenErrorCondition,
  isAdyenGlobalStatus,
  isAdyenPrinterStatus,
  type AdyenAttestationStatus,
  type AdyenErrorCondition,
  type AdyenGlobalStatus,
  type AdyenPrinterStatus,
  type DiagnosisOutcome,
  type HealthReason,
} from '@tillbus/result-codes';
import { describeReasons, normaliseReasons, type Findings } from './terminal-health';

/** Every ErrorCondition of a Failure answer. A diagnosis changes nothing, so "occupied" conditions are BUSY. */
export const ADYEN_CONDITION_HEALTH: Record<
  AdyenErrorCondition,
  { reason: HealthReason; outcome: DiagnosisOutcome }
> = {
  Busy: { reason: 'BUSY', outcome: 'busy' },
  InProgress: { reason: 'BUSY', outcome: 'busy' },
  Aborted: { reason: 'BUSY', outcome: 'busy' },
  Cancel: { reason: 'BUSY', outcome: 'busy' },
  InsertedCard: { reason: 'BUSY', outcome: 'busy' },
  NotAllowed: { reason: 'BUSY', outcome: 'busy' },
  DeviceOut: { reason: 'DEVICE_FAULT', outcome: 'vendor_error' },
  UnavailableDevice: { reason: 'DEVICE_FAULT', outcome: 'vendor_error' },
  UnreachableHost: { reason: 'HOST_UNREACHABLE', outcome: 'vendor_error' },
  LoggedOut: { reason: 'CONFIG_ERROR', outcome: 'config_error' },
  MessageFormat: { reason: 'CONFIG_ERROR', outcome: 'config_error' },
  NotFound: { reason: 'CONFIG_ERROR', outcome: 'config_error' },
  UnavailableService: { reason: 'CONFIG_ERROR', outcome: 'config_error' },
  PaymentRestriction: { reason: 'VENDOR_ERROR', outcome: 'vendor_error' },
  Refusal: { reason: 'VENDOR_ERROR', outcome: 'vendor_error' },
  InvalidCard: { reason: 'VENDOR_ERROR', outcome: 'vendor_error' },
  WrongPIN: { reason: 'VENDOR_ERROR', outcome: 'vendor_error' },
};

/** A Failure whose ErrorCondition this version does not know: the terminal answered with an error. */
export const UNKNOWN_CONDITION_HEALTH: { reason: HealthReason; outcome: DiagnosisOutcome } = {
  reason: 'VENDOR_ERROR',
  outcome: 'vendor_error',
};

export const ADYEN_GLOBAL_HEALTH: Record<AdyenGlobalStatus, HealthReason | null> = {
  OK: null,
  Busy: 'BUSY',
  Maintenance: 'MAINTENANCE',
  Unreachable: 'UNREACHABLE',
};

export const ADYEN_PRINTER_HEALTH: Record<AdyenPrinterStatus, HealthReason | null> = {
  OK: null,
  PaperLow: 'PRINTER_PAPER_LOW',
  NoPaper: 'PRINTER_NO_PAPER',
  PaperJam: 'PRINTER_FAULT',
  OutOfOrder: 'PRINTER_FAULT',
};

export const ADYEN_ATTESTATION_HEALTH: Record<AdyenAttestationStatus, HealthReason | null> = {
  Valid: null,
  Rejected: 'ATTESTATION_REJECTED',
  Failed: 'ATTESTATION_FAILED',
  Expired: 'ATTESTATION_EXPIRED',
};

export interface AdyenObservation {
  kind: 'terminal' | 'mobile-sdk';
  /** Step 1 (a terminal) or the only step (a Mobile SDK, asked with HostDiagnosisFlag=true). */
  first: ParsedDiagnosis;
  /** Step 2 of a terminal with unconfirmed batches: its answer, or why it failed. */
  host?: ParsedDiagnosis | { failed: string };
  nowMs: number;
  batteryLowPercent: number;
  sdkExpiryWarningMs: number;
}

/** An Adyen diagnosis (one or two steps) as findings. Pure. */
export function adyenFindings(observation: AdyenObservation): Findings {
  const { first } = observation;
  const raw = rawOf(first);
  const unrecognised = unrecognisedOf(first, observation.host);
  if (first.kind === 'busy' || first.kind === 'failure') {
    const row = isAdyenErrorCondition(first.errorCondition)
      ? ADYEN_CONDITION_HEALTH[first.errorCondition]
      : UNKNOWN_CONDITION_HEALTH;
    const reasons = normaliseReasons([
      row.reason,
      ...(unrecognised.length > 0 ? (['UNRECOGNISED_VALUE'] as const) : []),
    ]);
    return {
      reasons,
      outcome: row.outcome,
      details: {
        message: describeReasons(reasons),
        ...(first.kind === 'failure' ? { error: `${first.errorCondition}: ${first.meaning}` } : {}),
        ...(unrecognised.length > 0 ? { unrecognised } : {}),
      },
      raw,
    };
  }

  const reasons: HealthReason[] = [];
  const details: HealthDetails = {};
  const add = (reason: HealthReason | null | undefined) => {
    if (reason) reasons.push(reason);
  };
  const poi = first.poiStatus;
  const extra = first.additionalResponse;
  if (poi) {
    details.globalStatus = poi.globalStatus;
    // An unknown value maps to no reason of its own: UNRECOGNISED_VALUE reports it, the other fields still count.
    if (isAdyenGlobalStatus(poi.globalStatus)) add(ADYEN_GLOBAL_HEALTH[poi.globalStatus]);
    if (poi.communicationOk !== undefined) details.communicationOk = poi.communicationOk;
    if (poi.communicationOk === false) add('NETWORK_DOWN');
    if (poi.printerStatus) {
      details.printerStatus = poi.printerStatus;
      if (isAdyenPrinterStatus(poi.printerStatus)) add(ADYEN_PRINTER_HEALTH[poi.printerStatus]);
    }
  }
  if (unrecognised.length > 0) {
    add('UNRECOGNISED_VALUE');
    details.unrecognised = unrecognised;
  }
  if (extra?.batteryLevel !== undefined) {
    details.batteryLevel = extra.batteryLevel;
    if (extra.batteryLevel < observation.batteryLowPercent) add('BATTERY_LOW');
  }
  if (extra?.firmwareVersion) details.firmwareVersion = extra.firmwareVersion;
  if (extra?.tamperStatus) details.tamperStatus = extra.tamperStatus;
  if (extra && isTampered(extra)) add('TAMPERED');
  const unconfirmed = extra?.unconfirmedBatchCount ?? 0;
  if (extra?.unconfirmedBatchCount !== undefined) details.unconfirmedBatchCount = unconfirmed;

  const hostDiagnoses: NonNullable<Findings['hostDiagnoses']> = [];
  if (observation.kind === 'terminal') {
    if (unconfirmed > 0) add('UNCONFIRMED_BATCHES');
    const host = observation.host;
    if (host && 'failed' in host) {
      hostDiagnoses.push('failed');
      details.error = `host diagnosis failed: ${host.failed}`.slice(0, 300);
    } else if (host) {
      const reachability =
        host.kind === 'busy' || host.kind === 'failure' ? 'failed' : hostReachability(host);
      hostDiagnoses.push(reachability);
      if (reachability === 'reachable' || reachability === 'unreachable') {
        details.hostReachable = reachability === 'reachable';
      }
      if (reachability === 'unreachable') add('HOST_UNREACHABLE');
      raw.hostDiagnosis = rawOf(host);
    }
  } else {
    const reachability = hostReachability(first);
    hostDiagnoses.push(reachability);
    const offline = offlinePayments(extra);
    if (Object.keys(offline).length > 0) details.offline = { ...offline };
    if (reachability === 'reachable' || reachability === 'unreachable') {
      details.hostReachable = reachability === 'reachable';
    }
    // `active` is the SDK's own word that it is offline now, whatever the host check of this diagnosis says
    const active = offline.offlineActive === true;
    if (active) {
      add('OFFLINE_MODE');
      const until = offline.offlineExpiresAt;
      const untilMs = until === undefined ? NaN : Date.parse(until);
      if (until !== undefined) details.storeAndForwardUntil = until;
      if (untilMs <= observation.nowMs) {
        details.storeAndForwardEnded = true;
        add('HOST_UNREACHABLE');
      }
    } else if (reachability === 'unreachable') {
      add(offline.offlineAvailable ? 'OFFLINE_MODE' : 'HOST_UNREACHABLE');
    }
    if (unconfirmed > 0) add('OFFLINE_PAYMENTS_UNFORWARDED');
    if (extra?.sdkExpiry) {
      details.sdkExpiry = extra.sdkExpiry.toISOString();
      const left = extra.sdkExpiry.getTime() - observation.nowMs;
      if (left <= 0) add('SDK_EXPIRED');
      else if (left <= observation.sdkExpiryWarningMs) add('SDK_EXPIRING');
    }
    const attestation = attestationVerdict(extra?.attestationStatus);
    if (attestation.status) details.attestationStatus = attestation.status;
    if (attestation.status && isAdyenAttestationStatus(attestation.status)) {
      add(ADYEN_ATTESTATION_HEALTH[attestation.status]);
    }
    if (attestation.resolvableIssues.length > 0) {
      details.resolvableIssues = attestation.resolvableIssues.map((issue) => ({ ...issue }));
    }
  }
  const sorted = normaliseReasons(reasons);
  const message = describeReasons(sorted, details);
  return {
    reasons: sorted,
    outcome: sorted.includes('BUSY') ? 'busy' : 'ok',
    details: message ? { message, ...details } : details,
    raw,
    ...(hostDiagnoses.length > 0 ? { hostDiagnoses } : {}),
  };
}

/** Unknown enum values of both steps, as received (step 2's paths start with `hostDiagnosis.`). */
function unrecognisedOf(
  first: ParsedDiagnosis,
  host: AdyenObservation['host'],
): { field: string; value: unknown }[] {
  const second = host && !('failed' in host) ? host.unrecognised : [];
  return [
    ...first.unrecognised.map((u) => ({ ...u })),
    ...second.map((u) => ({ field: `hostDiagnosis.${u.field}`, value: u.value })),
  ];
}

function rawOf(parsed: ParsedDiagnosis): Record<string, unknown> {
  return {
    result: parsed.result,
    ...('errorCondition' in parsed ? { errorCondition: parsed.errorCondition } : {}),
    ...(parsed.poiStatus ? { poiStatus: { ...parsed.poiStatus } } : {}),
    ...(parsed.hostStatus.length > 0
      ? { hostStatus: parsed.hostStatus.map((h) => ({ ...h })) }
      : {}),
    ...(parsed.additionalResponseRaw !== undefined
      ? { additionalResponse: parsed.additionalResponseRaw }
      : {}),
  };
}
