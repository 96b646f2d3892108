import type { Clock } from '@tillbus/messaging';
import { describe, expect, it } from 'vitest';
import {
  formatAdditionalResponse,
  parseDiagnosisResponse,
  type AdditionalResponseInput,
} from '@tillbus/protocols-adyen';
import {
  ADYEN_ATTESTATION_STATUS_NAMES,
  ADYEN_ERROR_CONDITION_NAMES,
  ADYEN_GLOBAL_STATUS_NAMES,
  ADYEN_PRINTER_STATUS_NAMES,
  HEALTH_REASONS,
} from '@tillbus/result-codes';
import {
  ADYEN_ATTESTATION_HEALTH,
  ADYEN_CONDITION_HEALTH,
  ADYEN_GLOBAL_HEALTH,
  ADYEN_PRINTER_HEALTH,
  adyenFindings,
  type AdyenObservation,
} from './adyen-health';
import type { DeviceHealthConfig } from '../config';
import { HealthStore } from '../diagnosis/health-store.service';
import { statusOf } from './terminal-health';

const NOW = Date.UTC(2026, 5, 1);
const DAY = 86_400_000;
const TERMINAL = 'V400m-123456789';
const MOBILE = 'AC2ABBE8-EDD8-4E2B-AF45-8770FA2347DC.924';

interface AnswerSpec {
  poiId?: string;
  result?: string;
  errorCondition?: string;
  poiStatus?: Record<string, unknown>;
  hostStatus?: { AcquirerID: string; IsReachableFlag?: boolean }[];
  additional?: AdditionalResponseInput;
}

function answer(spec: AnswerSpec = {}) {
  return parseDiagnosisResponse({
    SaleToPOIResponse: {
      MessageHeader: {
        MessageClass: 'Service',
        MessageCategory: 'Diagnosis',
        MessageType: 'Response',
        POIID: spec.poiId ?? TERMINAL,
      },
      DiagnosisResponse: {
        Response: {
          Result: spec.result ?? 'Success',
          ...(spec.errorCondition ? { ErrorCondition: spec.errorCondition } : {}),
          ...(spec.additional
            ? { AdditionalResponse: formatAdditionalResponse(spec.additional) }
            : {}),
        },
        POIStatus: spec.poiStatus ?? {
          GlobalStatus: 'OK',
          CommunicationOKFlag: true,
          PrinterStatus: 'OK',
        },
        ...(spec.hostStatus ? { HostStatus: spec.hostStatus } : {}),
      },
    },
  });
}

function findings(first: ReturnType<typeof answer>, extra: Partial<AdyenObservation> = {}) {
  return adyenFindings({
    kind: 'terminal',
    first,
    nowMs: NOW,
    batteryLowPercent: 20,
    sdkExpiryWarningMs: 14 * DAY,
    ...extra,
  });
}

const mobile = (additional: AdditionalResponseInput, reachable = true) =>
  findings(
    answer({
      poiId: MOBILE,
      poiStatus: { GlobalStatus: 'OK' },
      hostStatus: [{ AcquirerID: '0', IsReachableFlag: reachable }],
      additional: { terminalId: MOBILE, unconfirmedBatchCount: 0, ...additional },
    }),
    { kind: 'mobile-sdk' },
  );

describe('adyenFindings: one row per vendor state', () => {
  const conditionRows = [
    ['Busy', 'BUSY', 'DEGRADED', 'busy'],
    ['InProgress', 'BUSY', 'DEGRADED', 'busy'],
    ['Aborted', 'BUSY', 'DEGRADED', 'busy'],
    ['Cancel', 'BUSY', 'DEGRADED', 'busy'],
    ['InsertedCard', 'BUSY', 'DEGRADED', 'busy'],
    ['NotAllowed', 'BUSY', 'DEGRADED', 'busy'],
    ['DeviceOut', 'DEVICE_FAULT', 'DOWN', 'vendor_error'],
    ['UnavailableDevice', 'DEVICE_FAULT', 'DOWN', 'vendor_error'],
    ['UnreachableHost', 'HOST_UNREACHABLE', 'DOWN', 'vendor_error'],
    ['LoggedOut', 'CONFIG_ERROR', 'UNKNOWN', 'config_error'],
    ['MessageFormat', 'CONFIG_ERROR', 'UNKNOWN', 'config_error'],
    ['NotFound', 'CONFIG_ERROR', 'UNKNOWN', 'config_error'],
    ['UnavailableService', 'CONFIG_ERROR', 'UNKNOWN', 'config_error'],
    ['PaymentRestriction', 'VENDOR_ERROR', 'UNKNOWN', 'vendor_error'],
    ['Refusal', 'VENDOR_ERROR', 'UNKNOWN', 'vendor_error'],
    ['InvalidCard', 'VENDOR_ERROR', 'UNKNOWN', 'vendor_error'],
    ['WrongPIN', 'VENDOR_ERROR', 'UNKNOWN', 'vendor_error'],
  ] as const;

  it('covers every ErrorCondition, GlobalStatus, PrinterStatus and attestation status', () => {
    expect(conditionRows.map((r) => r[0]).sort()).toEqual([...ADYEN_ERROR_CONDITION_NAMES].sort());
    expect(Object.keys(ADYEN_CONDITION_HEALTH).sort()).toEqual(
      [...ADYEN_ERROR_CONDITION_NAMES].sort(),
    );
    expect(Object.keys(ADYEN_GLOBAL_HEALTH).sort()).toEqual([...ADYEN_GLOBAL_STATUS_NAMES].sort());
    expect(Object.keys(ADYEN_PRINTER_HEALTH).sort()).toEqual(
      [...ADYEN_PRINTER_STATUS_NAMES].sort(),
    );
    expect(Object.keys(ADYEN_ATTESTATION_HEALTH).sort()).toEqual(
      [...ADYEN_ATTESTATION_STATUS_NAMES].sort(),
    );
  });

  it.each(conditionRows)('Failure/%s -> %s, %s, %s', (condition, reason, status, outcome) => {
    const result = findings(answer({ result: 'Failure', errorCondition: condition }));
    expect(result.reasons).toEqual([reason]);
    expect(statusOf(result.reasons)).toBe(status);
    expect(result.outcome).toBe(outcome);
    expect(result.raw).toMatchObject({ result: 'Failure', errorCondition: condition });
  });

  it.each([
    ['OK', [], 'READY'],
    ['Busy', ['BUSY'], 'DEGRADED'],
    ['Maintenance', ['MAINTENANCE'], 'DOWN'],
    ['Unreachable', ['UNREACHABLE'], 'DOWN'],
  ] as const)('GlobalStatus %s -> %j, %s', (globalStatus, reasons, status) => {
    const result = findings(answer({ poiStatus: { GlobalStatus: globalStatus } }));
    expect(result.reasons).toEqual(reasons);
    expect(statusOf(result.reasons)).toBe(status);
    expect(result.details.globalStatus).toBe(globalStatus);
  });

  it.each([
    ['OK', [], 'READY'],
    ['PaperLow', ['PRINTER_PAPER_LOW'], 'READY'],
    ['NoPaper', ['PRINTER_NO_PAPER'], 'DEGRADED'],
    ['PaperJam', ['PRINTER_FAULT'], 'DEGRADED'],
    ['OutOfOrder', ['PRINTER_FAULT'], 'DEGRADED'],
  ] as const)('PrinterStatus %s -> %j, %s', (printerStatus, reasons, status) => {
    const result = findings(
      answer({ poiStatus: { GlobalStatus: 'OK', PrinterStatus: printerStatus } }),
    );
    expect(result.reasons).toEqual(reasons);
    expect(statusOf(result.reasons)).toBe(status);
    expect(result.details.printerStatus).toBe(printerStatus);
  });

  it.each([
    [{ GlobalStatus: 'OK', CommunicationOKFlag: false }, ['NETWORK_DOWN'], 'DOWN'],
    [{ GlobalStatus: 'OK', CommunicationOKFlag: true }, [], 'READY'],
  ] as const)('POIStatus %j -> %j, %s', (poiStatus, reasons, status) => {
    const result = findings(answer({ poiStatus }));
    expect(result.reasons).toEqual(reasons);
    expect(statusOf(result.reasons)).toBe(status);
  });

  it.each([
    [19, ['BATTERY_LOW'], 'DEGRADED'],
    [20, [], 'READY'],
    [100, [], 'READY'],
  ] as const)('batteryLevel %s%% -> %j, %s', (batteryLevel, reasons, status) => {
    const result = findings(answer({ additional: { batteryLevel } }));
    expect(result.reasons).toEqual(reasons);
    expect(statusOf(result.reasons)).toBe(status);
    expect(result.details.batteryLevel).toBe(batteryLevel);
  });

  it('reads firmware and tamper status; a tampered terminal is DOWN whatever else it says', () => {
    const fine = findings(answer({ additional: { firmwareVersion: 'Castles 1.2' } }));
    expect(fine.details.firmwareVersion).toBe('Castles 1.2');
    const tampered = findings(
      answer({
        poiStatus: { GlobalStatus: 'Busy', PrinterStatus: 'PaperLow' },
        additional: { tamperStatus: 'ARS_TRIGGERED', batteryLevel: 5 },
      }),
    );
    expect(tampered.reasons[0]).toBe('TAMPERED');
    expect(statusOf(tampered.reasons)).toBe('DOWN');
    expect(tampered.details.tamperStatus).toBe('ARS_TRIGGERED');
  });

  describe('the two-step host diagnosis of a terminal', () => {
    const step1 = answer({ additional: { unconfirmedBatchCount: 3 } });
    const host = (reachable?: boolean) =>
      answer({
        hostStatus: [
          { AcquirerID: '0', ...(reachable === undefined ? {} : { IsReachableFlag: reachable }) },
        ],
        additional: { unconfirmedBatchCount: 3 },
      });

    it.each([
      ['reachable', host(true), ['UNCONFIRMED_BATCHES'], 'DEGRADED', true],
      ['unreachable', host(false), ['HOST_UNREACHABLE', 'UNCONFIRMED_BATCHES'], 'DOWN', false],
      ['unknown', host(), ['UNCONFIRMED_BATCHES'], 'DEGRADED', undefined],
    ] as const)('host %s -> %j, %s', (reachability, second, reasons, status, hostReachable) => {
      const result = findings(step1, { host: second });
      expect(result.reasons).toEqual(reasons);
      expect(statusOf(result.reasons)).toBe(status);
      expect(result.hostDiagnoses).toEqual([reachability]);
      expect(result.details.hostReachable).toBe(hostReachable);
      expect(result.details.unconfirmedBatchCount).toBe(3);
    });

    it('keeps the step-1 state when step 2 fails', () => {
      const result = findings(step1, { host: { failed: 'timeout' } });
      expect(result.reasons).toEqual(['UNCONFIRMED_BATCHES']);
      expect(result.hostDiagnoses).toEqual(['failed']);
      expect(result.details.error).toBe('host diagnosis failed: timeout');
      const busy = findings(step1, { host: answer({ result: 'Failure', errorCondition: 'Busy' }) });
      expect(busy.hostDiagnoses).toEqual(['failed']);
    });
  });

  describe('Mobile SDK installations', () => {
    it('is READY when valid, online, forwarded and far from expiry', () => {
      const result = mobile({
        sdkExpiry: new Date(NOW + 100 * DAY),
        attestationStatus: { raw: { status: 'Valid' } },
        storeAndForwardStatus: { raw: { available: true, active: false } },
      });
      expect(result.reasons).toEqual([]);
      expect(result.hostDiagnoses).toEqual(['reachable']);
    });

    it.each([
      [NOW - DAY, ['SDK_EXPIRED'], 'DOWN'],
      [NOW, ['SDK_EXPIRED'], 'DOWN'],
      [NOW + 3 * DAY, ['SDK_EXPIRING'], 'READY'],
      [NOW + 30 * DAY, [], 'READY'],
    ] as const)('sdkExpiry %s -> %j, %s', (expiry, reasons, status) => {
      const result = mobile({ sdkExpiry: new Date(expiry) });
      expect(result.reasons).toEqual(reasons);
      expect(statusOf(result.reasons)).toBe(status);
      expect(result.details.sdkExpiry).toBe(new Date(expiry).toISOString());
    });

    it.each([
      ['Valid', [], 'READY'],
      ['Rejected', ['ATTESTATION_REJECTED'], 'DOWN'],
      ['Failed', ['ATTESTATION_FAILED'], 'DEGRADED'],
      ['Expired', ['ATTESTATION_EXPIRED'], 'DEGRADED'],
    ] as const)('attestation %s -> %j, %s', (status, reasons, health) => {
      const result = mobile({ attestationStatus: { raw: { status } } });
      expect(result.reasons).toEqual(reasons);
      expect(statusOf(result.reasons)).toBe(health);
      expect(result.details.attestationStatus).toBe(status);
    });

    it('surfaces the resolvable issues to the operator', () => {
      const issues = [
        { name: 'DeveloperOptions', message: 'Turn off developer options' },
        { name: 'Root' },
      ];
      const result = mobile({
        attestationStatus: {
          raw: { status: 'Rejected', selfResolvableIssues: true, resolvableIssues: issues },
        },
      });
      expect(result.details.resolvableIssues).toEqual(issues);
    });

    it.each([
      [{ unconfirmedBatchCount: 2 }, true, ['OFFLINE_PAYMENTS_UNFORWARDED'], 'DEGRADED'],
      [
        { storeAndForwardStatus: { raw: { available: true, active: true } } },
        false,
        ['OFFLINE_MODE'],
        'DEGRADED',
      ],
      [
        { storeAndForwardStatus: { raw: { available: false } } },
        false,
        ['HOST_UNREACHABLE'],
        'DOWN',
      ],
    ] as const)(
      'offline state %j (host reachable %s) -> %j, %s',
      (additional, reachable, reasons, status) => {
        const result = mobile(additional, reachable);
        expect(result.reasons).toEqual(reasons);
        expect(statusOf(result.reasons)).toBe(status);
      },
    );

    // issue 16 §3: an installation that says it is offline right now read READY with no reason
    it('is OFFLINE_MODE while store-and-forward is active, even with the host reported reachable', () => {
      const until = '2026-12-08T10:00:00Z';
      const result = mobile({
        storeAndForwardStatus: { raw: { available: true, active: true, expiresAt: until } },
      });
      expect(result.reasons).toEqual(['OFFLINE_MODE']);
      expect(statusOf(result.reasons)).toBe('DEGRADED');
      expect(result.details.storeAndForwardUntil).toBe(until);
      expect(result.details.message).toBe(
        `${HEALTH_REASONS.OFFLINE_MODE.meaning}; card payments go store-and-forward until ${until}`,
      );
    });

    it('the readiness answer says card payments go store-and-forward until expiresAt', () => {
      const until = '2026-12-08T10:00:00Z';
      const clock = { now: () => NOW + 1000 } as Clock;
      const config = { STALE_AFTER_INTERVALS: 3, POLL_INTERVAL_MS: 60_000 } as DeviceHealthConfig;
      const none = undefined as never;
      const store = new HealthStore(none, none, none, none, config, clock, none);
      const terminal = {
        terminalId: `adyen-${MOBILE}`,
        vendor: 'adyen' as const,
        vendorId: MOBILE,
        storeId: 'store-001',
      };
      const findings = mobile({
        storeAndForwardStatus: { raw: { available: true, active: true, expiresAt: until } },
      });
      const health = store.compose(
        terminal as never,
        findings,
        { checkedAtMs: NOW, durationMs: 5 },
        undefined,
      );
      const readiness = store.readiness(terminal, health);
      expect(readiness).toMatchObject({ status: 'DEGRADED', reasons: ['OFFLINE_MODE'] });
      expect(readiness.details?.storeAndForwardUntil).toBe(until);
      expect(readiness.details?.message).toContain(
        `card payments go store-and-forward until ${until}`,
      );
    });

    it('says when the store-and-forward window has already closed', () => {
      const until = new Date(NOW - DAY).toISOString();
      const result = mobile({
        storeAndForwardStatus: { raw: { available: true, active: true, expiresAt: until } },
      });
      expect(result.reasons).toEqual(['HOST_UNREACHABLE', 'OFFLINE_MODE']);
      expect(result.details.message).toContain(`store-and-forward ended at ${until}`);
    });

    it('reports forwarding details', () => {
      const result = mobile({
        unconfirmedBatchCount: 2,
        storeAndForwardStatus: { raw: { available: true, forwardAttemptStatus: 'Other failure' } },
      });
      expect(result.details.offline).toMatchObject({
        unforwardedCount: 2,
        forwardAttemptStatus: 'Other failure',
        lastForwardSucceeded: false,
      });
    });
  });
});

describe('adyenFindings: values Adyen adds (tolerant reading)', () => {
  it('an unknown PrinterStatus still yields the GlobalStatus, with UNRECOGNISED_VALUE', () => {
    const f = findings(
      answer({
        poiStatus: {
          GlobalStatus: 'Maintenance',
          CommunicationOKFlag: true,
          PrinterStatus: 'CoverOpen',
        },
      }),
    );
    expect(f.reasons).toEqual(['MAINTENANCE', 'UNRECOGNISED_VALUE']);
    expect(f.outcome).toBe('ok');
    expect(statusOf(f.reasons)).toBe('DOWN');
    expect(f.details).toMatchObject({ globalStatus: 'Maintenance', printerStatus: 'CoverOpen' });
    expect(f.details.unrecognised).toEqual([
      { field: 'SaleToPOIResponse.DiagnosisResponse.POIStatus.PrinterStatus', value: 'CoverOpen' },
    ]);
  });

  it('an unknown PrinterStatus on a healthy terminal leaves it READY (advisory only)', () => {
    const f = findings(answer({ poiStatus: { GlobalStatus: 'OK', PrinterStatus: 'CoverOpen' } }));
    expect(f.reasons).toEqual(['UNRECOGNISED_VALUE']);
    expect(statusOf(f.reasons)).toBe('READY');
  });

  it('an unknown GlobalStatus is reported; the other fields still count', () => {
    const f = findings(
      answer({
        poiStatus: {
          GlobalStatus: 'Updating',
          CommunicationOKFlag: false,
          PrinterStatus: 'NoPaper',
        },
      }),
    );
    expect(f.reasons).toEqual(['NETWORK_DOWN', 'PRINTER_NO_PAPER', 'UNRECOGNISED_VALUE']);
    expect(f.details.globalStatus).toBe('Updating');
  });

  it('an unknown ErrorCondition is a vendor error, reported as unrecognised, never malformed', () => {
    const f = findings(answer({ result: 'Failure', errorCondition: 'Overheated' }));
    expect(f.reasons).toEqual(['VENDOR_ERROR', 'UNRECOGNISED_VALUE']);
    expect(f.outcome).toBe('vendor_error');
    expect(f.details.error).toMatch(/^Overheated: /);
    expect(f.details.unrecognised).toEqual([
      { field: 'SaleToPOIResponse.DiagnosisResponse.Response.ErrorCondition', value: 'Overheated' },
    ]);
  });

  it('an unknown Result still reads POIStatus', () => {
    const f = findings(answer({ result: 'Warning', poiStatus: { GlobalStatus: 'Busy' } }));
    expect(f.reasons).toEqual(['BUSY', 'UNRECOGNISED_VALUE']);
    expect(f.outcome).toBe('busy');
  });

  it('reports unknown values of step 2 under hostDiagnosis', () => {
    const host = answer({
      hostStatus: [{ AcquirerID: 'a', IsReachableFlag: true }],
      poiStatus: { GlobalStatus: 'Sleeping' },
    });
    const f = findings(answer({ additional: { unconfirmedBatchCount: 1 } }), { host });
    expect(f.reasons).toContain('UNRECOGNISED_VALUE');
    expect(f.details.unrecognised).toEqual([
      {
        field: 'hostDiagnosis.SaleToPOIResponse.DiagnosisResponse.POIStatus.GlobalStatus',
        value: 'Sleeping',
      },
    ]);
  });
});
