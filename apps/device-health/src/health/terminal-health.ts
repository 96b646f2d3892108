/**
 * How device-health turns findings into one vendor-neutral answer. The codes (statuses, reasons with their severity,
 * meaning and action, diagnosis outcomes) are in @tillbus/result-codes; the reply shapes in @tillbus/contracts.
 */
import type { HealthDetails } from '@tillbus/contracts';
import {
  HEALTH_REASONS,
  type DiagnosisOutcome,
  type HealthReason,
  type HealthSeverity,
  type HealthStatus,
} from '@tillbus/result-codes';

const SEVERITY_STATUS: Record<HealthSeverity, HealthStatus> = {
  down: 'DOWN',
  unknown: 'UNKNOWN',
  degraded: 'DEGRADED',
  advisory: 'READY',
};
const SEVERITY_ORDER: HealthSeverity[] = ['down', 'unknown', 'degraded', 'advisory'];

/** What an adapter learned, before it becomes a stored TerminalHealth. */
export interface Findings {
  reasons: HealthReason[];
  outcome: DiagnosisOutcome;
  details: HealthDetails;
  /** The vendor's own fields, as received (no secrets travel in a diagnosis). */
  raw: Record<string, unknown>;
  /** Adyen step-2 (or Mobile SDK) host checks made: reachable / unreachable / unknown / failed. */
  hostDiagnoses?: ('reachable' | 'unreachable' | 'unknown' | 'failed')[];
  /** A signed answer's time minus our clock (Antom), for the clock-skew metric; absent when not measured. */
  clockSkewMs?: number;
}

/** The status the reasons imply: the most severe wins; no reasons is READY. */
export function statusOf(reasons: readonly HealthReason[]): HealthStatus {
  for (const severity of SEVERITY_ORDER) {
    if (reasons.some((reason) => HEALTH_REASONS[reason].severity === severity)) {
      return SEVERITY_STATUS[severity];
    }
  }
  return 'READY';
}

/** Unique, most severe first (TAMPERED before anything), then by name: equal sets compare equal as arrays. */
export function normaliseReasons(reasons: readonly HealthReason[]): HealthReason[] {
  const rank = (reason: HealthReason) =>
    SEVERITY_ORDER.indexOf(HEALTH_REASONS[reason].severity) * 2 + (reason === 'TAMPERED' ? 0 : 1);
  return [...new Set(reasons)].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

export function sameReasons(a: readonly HealthReason[], b: readonly HealthReason[]): boolean {
  const x = normaliseReasons(a);
  const y = normaliseReasons(b);
  return x.length === y.length && x.every((reason, i) => reason === y[i]);
}

/**
 * The sentence for the most severe reason, plus what decides how card payments go right now: while a Mobile SDK is
 * offline they are stored and forwarded, and only until its store-and-forward window closes.
 */
export function describeReasons(
  reasons: readonly HealthReason[],
  details: HealthDetails = {},
): string | undefined {
  const first = normaliseReasons(reasons)[0];
  if (first === undefined) return undefined;
  const meaning = HEALTH_REASONS[first].meaning;
  const until = details.storeAndForwardUntil;
  if (until === undefined || !reasons.includes('OFFLINE_MODE')) return meaning;
  return details.storeAndForwardEnded === true
    ? `${meaning}; store-and-forward ended at ${until}`
    : `${meaning}; card payments go store-and-forward until ${until}`;
}

/** Findings for an exchange that failed before any vendor state could be read. */
export function failedExchange(
  outcome: Exclude<DiagnosisOutcome, 'ok' | 'busy'>,
  error: string,
  raw: Record<string, unknown> = {},
): Findings {
  const reason = FAILURE_REASON[outcome];
  return { reasons: [reason], outcome, details: { error: error.slice(0, 300) }, raw };
}

export const FAILURE_REASON: Record<Exclude<DiagnosisOutcome, 'ok' | 'busy'>, HealthReason> = {
  unreachable: 'UNREACHABLE',
  timeout: 'UNREACHABLE',
  auth_error: 'AUTH_ERROR',
  config_error: 'CONFIG_ERROR',
  malformed: 'MALFORMED_RESPONSE',
  vendor_error: 'VENDOR_ERROR',
};

/** Reasons that only a person can clear: a busy answer, which says nothing about them, keeps them. */
export const STICKY_REASONS: readonly HealthReason[] = ['TAMPERED'];
