import {
  ADYEN_FORWARD_ATTEMPT_STATUSES,
  isAdyenAttestationBad,
  isAdyenAttestationStatus,
  isAdyenForwardAttemptStatus,
} from '@tillbus/result-codes';
import type {
  AdyenAdditionalResponse,
  AttestationStatus,
  ResolvableIssue,
} from './additional-response';
import type { ParsedDiagnosis } from './diagnosis-response';

/** The two-step rule: after step 1, diagnose again with HostDiagnosisFlag=true when unconfirmedBatchCount > 0. */
export function needsHostDiagnosis(parsed: ParsedDiagnosis): boolean {
  if (parsed.kind !== 'ok' && parsed.kind !== 'partial') return false;
  return (parsed.additionalResponse?.unconfirmedBatchCount ?? 0) > 0;
}

export type HostReachability = 'reachable' | 'unreachable' | 'unknown';

/** From `HostStatus[].IsReachableFlag`: one unreachable host is enough to say so. */
export function hostReachability(parsed: ParsedDiagnosis): HostReachability {
  const flags = parsed.hostStatus.map((host) => host.reachable);
  if (flags.includes(false)) return 'unreachable';
  if (flags.length > 0 && flags.every((flag) => flag === true)) return 'reachable';
  return 'unknown';
}

export interface AttestationVerdict {
  /** bad: Rejected, Failed or Expired; unknown: no status, or one the seed does not list. */
  readonly verdict: 'valid' | 'bad' | 'unknown';
  readonly status?: string;
  /** Problems the operator can solve, to show them. */
  readonly resolvableIssues: readonly ResolvableIssue[];
}

export function attestationVerdict(attestation: AttestationStatus | undefined): AttestationVerdict {
  const status = attestation?.status;
  const resolvableIssues = attestation?.resolvableIssues ?? [];
  if (status === undefined || !isAdyenAttestationStatus(status)) {
    return { verdict: 'unknown', ...(status === undefined ? {} : { status }), resolvableIssues };
  }
  return { verdict: isAdyenAttestationBad(status) ? 'bad' : 'valid', status, resolvableIssues };
}

export interface OfflinePayments {
  /** Stored offline payments not yet forwarded to Adyen (`unconfirmedBatchCount`); absent when not reported. */
  readonly unforwardedCount?: number;
  /** From `storeAndForwardStatus.forwardAttemptStatus`; absent when not reported or not a listed value. */
  readonly lastForwardSucceeded?: boolean;
  readonly forwardAttemptStatus?: string;
  readonly offlineAvailable?: boolean;
  readonly offlineActive?: boolean;
  readonly offlineExpiresAt?: string;
}

/** Mobile SDK store-and-forward state in one place. */
export function offlinePayments(additional: AdyenAdditionalResponse | undefined): OfflinePayments {
  const status = additional?.storeAndForwardStatus;
  const attempt = status?.forwardAttemptStatus;
  const entries: [keyof OfflinePayments, unknown][] = [
    ['unforwardedCount', additional?.unconfirmedBatchCount],
    ['forwardAttemptStatus', attempt],
    [
      'lastForwardSucceeded',
      attempt !== undefined && isAdyenForwardAttemptStatus(attempt)
        ? ADYEN_FORWARD_ATTEMPT_STATUSES[attempt].forwarded
        : undefined,
    ],
    ['offlineAvailable', status?.available],
    ['offlineActive', status?.active],
    ['offlineExpiresAt', status?.expiresAt],
  ];
  return Object.fromEntries(entries.filter(([, value]) => value !== undefined)) as OfflinePayments;
}

/** Mobile SDK: transactions are blocked once the installed SDK version has expired. */
export function isSdkExpired(
  additional: AdyenAdditionalResponse | undefined,
  nowMs: number,
): boolean | undefined {
  const expiry = additional?.sdkExpiry;
  return expiry === undefined ? undefined : expiry.getTime() <= nowMs;
}
