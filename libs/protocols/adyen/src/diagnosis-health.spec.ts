import { describe, expect, it } from 'vitest';
import { formatAdditionalResponse, type AdditionalResponseInput } from './additional-response';
import {
  attestationVerdict,
  hostReachability,
  isSdkExpired,
  needsHostDiagnosis,
  offlinePayments,
} from './diagnosis-health';
import { parseDiagnosisResponse } from './diagnosis-response';

const HEADER = {
  ProtocolVersion: '3.0',
  MessageClass: 'Service',
  MessageCategory: 'Diagnosis',
  MessageType: 'Response',
  ServiceID: 'A1',
  SaleID: 'pos',
  POIID: 'V400m-324688179',
};

function diagnosis(
  result: string,
  additional?: AdditionalResponseInput,
  extra: Record<string, unknown> = {},
) {
  const Response: Record<string, unknown> = {
    Result: result,
    ...(result === 'Failure' ? { ErrorCondition: 'Busy' } : {}),
  };
  if (additional) Response.AdditionalResponse = formatAdditionalResponse(additional);
  return parseDiagnosisResponse({
    SaleToPOIResponse: { MessageHeader: HEADER, DiagnosisResponse: { Response, ...extra } },
  });
}

describe('needsHostDiagnosis (the two-step rule)', () => {
  it.each([
    ['Success', { unconfirmedBatchCount: 0 }, false],
    ['Success', { unconfirmedBatchCount: 1 }, true],
    ['Success', { unconfirmedBatchCount: 12 }, true],
    ['Success', { batteryLevel: 50 }, false],
    ['Success', undefined, false],
    ['Partial', { unconfirmedBatchCount: 3 }, true],
    ['Failure', { unconfirmedBatchCount: 3 }, false],
  ] as const)('%s with %j -> %s', (result, additional, needed) => {
    expect(needsHostDiagnosis(diagnosis(result, additional))).toBe(needed);
  });
});

describe('hostReachability', () => {
  it.each([
    [undefined, 'unknown'],
    [[], 'unknown'],
    [[{ AcquirerID: 'a', IsReachableFlag: true }], 'reachable'],
    [
      [
        { AcquirerID: 'a', IsReachableFlag: true },
        { AcquirerID: 'b', IsReachableFlag: false },
      ],
      'unreachable',
    ],
    [[{ AcquirerID: 'a', IsReachableFlag: true }, { AcquirerID: 'b' }], 'unknown'],
  ])('HostStatus %j -> %s', (HostStatus, expected) => {
    expect(
      hostReachability(diagnosis('Success', undefined, HostStatus ? { HostStatus } : {})),
    ).toBe(expected);
  });
});

describe('attestationVerdict', () => {
  it.each([
    ['Valid', 'valid'],
    ['Rejected', 'bad'],
    ['Failed', 'bad'],
    ['Expired', 'bad'],
    ['Quarantined', 'unknown'],
  ])('status %s -> %s', (status, verdict) => {
    const parsed = diagnosis('Success', { attestationStatus: { raw: { status } } });
    expect(attestationVerdict(parsed.additionalResponse?.attestationStatus)).toEqual({
      verdict,
      status,
      resolvableIssues: [],
    });
  });

  it('keeps the resolvable issues for the operator', () => {
    const raw = {
      status: 'Rejected',
      selfResolvableIssues: true,
      resolvableIssues: [{ name: 'Root', message: 'Unroot the device.' }],
    };
    const parsed = diagnosis('Success', { attestationStatus: { raw } });
    expect(attestationVerdict(parsed.additionalResponse?.attestationStatus)).toEqual({
      verdict: 'bad',
      status: 'Rejected',
      resolvableIssues: [{ name: 'Root', message: 'Unroot the device.' }],
    });
  });

  it('is unknown without an attestation', () => {
    expect(attestationVerdict(undefined)).toEqual({ verdict: 'unknown', resolvableIssues: [] });
  });
});

describe('offlinePayments', () => {
  it('combines unconfirmedBatchCount and storeAndForwardStatus', () => {
    const raw = {
      available: true,
      active: true,
      expiresAt: '2025-06-01T10:00:00Z',
      forwardAttemptStatus: 'Connectivity failure',
    };
    const parsed = diagnosis('Success', {
      unconfirmedBatchCount: 4,
      storeAndForwardStatus: { raw },
    });
    expect(offlinePayments(parsed.additionalResponse)).toEqual({
      unforwardedCount: 4,
      forwardAttemptStatus: 'Connectivity failure',
      lastForwardSucceeded: false,
      offlineAvailable: true,
      offlineActive: true,
      offlineExpiresAt: '2025-06-01T10:00:00Z',
    });
  });

  it.each([
    ['Success', true],
    ['Other failure', false],
    ['Something new', undefined],
  ])('forwardAttemptStatus %s -> forwarded %s', (forwardAttemptStatus, forwarded) => {
    const parsed = diagnosis('Success', {
      storeAndForwardStatus: { raw: { forwardAttemptStatus } },
    });
    expect(offlinePayments(parsed.additionalResponse).lastForwardSucceeded).toBe(forwarded);
  });

  it('is empty when nothing was reported', () => {
    expect(offlinePayments(undefined)).toEqual({});
  });
});

describe('isSdkExpired', () => {
  const expiry = new Date('2026-01-01T00:00:00Z');
  it.each([
    [expiry.getTime() - 1, false],
    [expiry.getTime(), true],
    [expiry.getTime() + 1, true],
  ])('at %d -> %s', (now, expired) => {
    expect(isSdkExpired(diagnosis('Success', { sdkExpiry: expiry }).additionalResponse, now)).toBe(
      expired,
    );
  });

  it('is undefined when not reported', () => {
    expect(
      isSdkExpired(diagnosis('Success', { batteryLevel: 1 }).additionalResponse, 0),
    ).toBeUndefined();
  });
});
