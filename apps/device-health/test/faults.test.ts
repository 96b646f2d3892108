import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_SUBJECTS, SUBJECTS, type TerminalHealth } from '@tillbus/contracts';
import {
  ADYEN_ERROR_CONDITION_NAMES,
  ANTOM_DIAGNOSIS_CODE_NAMES,
  type HealthReason,
  type HealthStatus,
  type HealthVendor,
} from '@tillbus/result-codes';
import { ANTOM_CODE_HEALTH } from '../src/health/antom-health';
import { ADYEN_CONDITION_HEALTH } from '../src/health/adyen-health';
import { statusOf } from '../src/health/terminal-health';
import { eventsOn, metric, startReplica, startStack, type Stack } from './harness';

/**
 * Every simulator fault, over real HTTP(S) and a real nats-server, through the bus: the right status and
 * reasons, the right event on JetStream, and the right change in the metrics.
 */
let stack: Stack;
let replica: Awaited<ReturnType<typeof startReplica>>;
let antomSerial = 0;
let adyenTerminal = 0;
let mobile = 0;
const ADYEN_TERMINALS = 60;

beforeAll(async () => {
  stack = await startStack({ antomTerminals: 40, adyenTerminals: ADYEN_TERMINALS, adyenMobile: 5 });
  replica = await startReplica(stack);
}, 120_000);

afterAll(async () => {
  await replica?.close();
  await stack?.close();
});

interface Row {
  name: string;
  vendor: HealthVendor;
  kind?: 'terminal' | 'mobile' | 'cloud';
  faults?: Record<string, unknown>;
  connection?: Record<string, unknown>;
  vendorId?: string;
  status: HealthStatus;
  reasons: HealthReason[];
  outcome: string;
  transaction?: boolean;
  host?: string;
  /** Fields the answer's details must hold. */
  details?: Record<string, unknown>;
}

function register(row: Row, terminalId: string) {
  if (row.vendor === 'antom') {
    const serial = row.vendorId ?? `ANTOMSIM${String(++antomSerial).padStart(6, '0')}`;
    return {
      id: serial,
      entry: {
        terminalId,
        vendor: 'antom',
        vendorId: serial,
        storeId: 'store-1',
        connection: {
          kind: 'antom',
          baseUrl: stack.antom.url,
          privateKeyRef: stack.refs.posPrivateKey,
          terminalPublicKeyRef: stack.refs.terminalPublicKey,
          ...row.connection,
        },
      },
    };
  }
  const poiId =
    row.kind === 'mobile'
      ? `00000000-0000-4000-8000-${String(++mobile).padStart(12, '0')}.1`
      : `V400m-${String(++adyenTerminal).padStart(9, '0')}`;
  const connection =
    row.kind === 'cloud'
      ? {
          kind: 'adyen-cloud',
          apiKeyRef: stack.refs.adyenApiKey,
          merchantAccount: 'TillbusSimulatorPOS',
        }
      : {
          kind: 'adyen-local',
          url: stack.adyen!.nexoUrl,
          keyIdentifier: 'tillbussim',
          passphraseRef: stack.refs.adyenPassphrase,
          keyVersion: 1,
        };
  return {
    id: poiId,
    entry: {
      terminalId,
      vendor: 'adyen',
      vendorId: poiId,
      storeId: 'store-2',
      connection: { ...connection, ...row.connection },
    },
  };
}

const antomRows: Row[] = [
  { name: 'healthy', vendor: 'antom', status: 'READY', reasons: [], outcome: 'ok' },
  // A newer terminal: the answer is still used, and what this version does not know is reported.
  {
    name: 'unknown values and extra fields',
    vendor: 'antom',
    faults: { unknownValues: true },
    status: 'READY',
    reasons: ['UNRECOGNISED_VALUE'],
    outcome: 'ok',
    details: { unrecognised: [{ field: 'printerStatus', value: 'LOW_PAPER' }] },
  },
  {
    name: 'unknown values, network down',
    vendor: 'antom',
    faults: { unknownValues: true, networkDown: true },
    status: 'DOWN',
    reasons: ['NETWORK_DOWN', 'UNRECOGNISED_VALUE'],
    outcome: 'ok',
  },
  // A correctly signed answer 10 minutes off still counts; the skew is reported.
  {
    name: 'answer signed 10 minutes behind',
    vendor: 'antom',
    faults: { clockSkewMs: -600_000 },
    status: 'READY',
    reasons: ['CLOCK_SKEW'],
    outcome: 'ok',
  },
  {
    name: 'answer signed 10 minutes ahead, printer without paper',
    vendor: 'antom',
    faults: { clockSkewMs: 600_000, noPaper: true },
    status: 'DEGRADED',
    reasons: ['PRINTER_FAULT', 'CLOCK_SKEW'],
    outcome: 'ok',
  },
  {
    name: 'network down',
    vendor: 'antom',
    faults: { networkDown: true },
    status: 'DOWN',
    reasons: ['NETWORK_DOWN'],
    outcome: 'ok',
  },
  {
    name: 'no paper',
    vendor: 'antom',
    faults: { noPaper: true },
    status: 'DEGRADED',
    reasons: ['PRINTER_FAULT'],
    outcome: 'ok',
  },
  {
    name: 'not ready',
    vendor: 'antom',
    faults: { notReady: true },
    status: 'DOWN',
    reasons: ['DEVICE_NOT_READY'],
    outcome: 'ok',
  },
  {
    name: 'slow',
    vendor: 'antom',
    faults: { slowMs: 300 },
    status: 'READY',
    reasons: [],
    outcome: 'ok',
  },
  {
    name: 'no answer',
    vendor: 'antom',
    faults: { noAnswer: true },
    status: 'DOWN',
    reasons: ['UNREACHABLE'],
    outcome: 'timeout',
  },
  {
    name: 'bad signature',
    vendor: 'antom',
    faults: { badSignature: true },
    status: 'UNKNOWN',
    reasons: ['AUTH_ERROR'],
    outcome: 'auth_error',
  },
  {
    name: 'unsigned answer',
    vendor: 'antom',
    faults: { unsigned: true },
    status: 'UNKNOWN',
    reasons: ['AUTH_ERROR'],
    outcome: 'auth_error',
  },
  ...(['garbage', 'truncated', 'wrong-types', 'empty'] as const).map((malformed): Row => ({
    name: `malformed ${malformed}`,
    vendor: 'antom',
    faults: { malformed },
    status: 'UNKNOWN',
    reasons: ['MALFORMED_RESPONSE'],
    outcome: 'malformed',
  })),
  // Table-driven from the vendor table: every result code the terminal can answer.
  ...ANTOM_DIAGNOSIS_CODE_NAMES.map((code): Row => {
    const row = ANTOM_CODE_HEALTH[code];
    const reasons = row.reason ? [row.reason] : [];
    return {
      name: `result ${code}`,
      vendor: 'antom',
      faults: { resultCode: code },
      status: statusOf(reasons),
      reasons,
      outcome: row.outcome,
    };
  }),
  {
    name: 'serial unknown to the terminal',
    vendor: 'antom',
    vendorId: 'NOSUCHSN',
    status: 'UNKNOWN',
    reasons: ['AUTH_ERROR'],
    outcome: 'auth_error',
  },
  {
    name: 'nothing listening',
    vendor: 'antom',
    connection: { baseUrl: 'http://127.0.0.1:9' },
    status: 'DOWN',
    reasons: ['UNREACHABLE'],
    outcome: 'unreachable',
  },
  {
    name: 'secret missing',
    vendor: 'antom',
    connection: { privateKeyRef: 'env:TILLBUS_NOT_SET' },
    status: 'UNKNOWN',
    reasons: ['CONFIG_ERROR'],
    outcome: 'config_error',
  },
  {
    name: 'wrong POS key',
    vendor: 'antom',
    connection: { privateKeyRef: 'WRONG_KEY' },
    status: 'UNKNOWN',
    reasons: ['AUTH_ERROR'],
    outcome: 'auth_error',
  },
];

const adyenRows: Row[] = [
  { name: 'healthy', vendor: 'adyen', status: 'READY', reasons: [], outcome: 'ok' },
  {
    name: 'network down',
    vendor: 'adyen',
    faults: { networkDown: true },
    status: 'DOWN',
    reasons: ['NETWORK_DOWN'],
    outcome: 'ok',
  },
  {
    name: 'no paper',
    vendor: 'adyen',
    faults: { noPaper: true },
    status: 'DEGRADED',
    reasons: ['PRINTER_NO_PAPER'],
    outcome: 'ok',
  },
  {
    name: 'paper low',
    vendor: 'adyen',
    faults: { paperLow: true },
    status: 'READY',
    reasons: ['PRINTER_PAPER_LOW'],
    outcome: 'ok',
  },
  {
    name: 'paper jam',
    vendor: 'adyen',
    faults: { paperJam: true },
    status: 'DEGRADED',
    reasons: ['PRINTER_FAULT'],
    outcome: 'ok',
  },
  {
    name: 'low battery',
    vendor: 'adyen',
    faults: { lowBattery: true },
    status: 'DEGRADED',
    reasons: ['BATTERY_LOW'],
    outcome: 'ok',
  },
  {
    name: 'unconfirmed batches, host reachable',
    vendor: 'adyen',
    faults: { unconfirmedBatches: 2 },
    status: 'DEGRADED',
    reasons: ['UNCONFIRMED_BATCHES'],
    outcome: 'ok',
    host: 'reachable',
  },
  {
    name: 'unconfirmed batches, host unreachable',
    vendor: 'adyen',
    faults: { unconfirmedBatches: 2, hostUnreachable: true },
    status: 'DOWN',
    reasons: ['HOST_UNREACHABLE', 'UNCONFIRMED_BATCHES'],
    outcome: 'ok',
    host: 'unreachable',
  },
  {
    name: 'tampered',
    vendor: 'adyen',
    faults: { tampered: true, paperLow: true },
    status: 'DOWN',
    reasons: ['TAMPERED', 'PRINTER_PAPER_LOW'],
    outcome: 'ok',
  },
  {
    name: 'busy (fault)',
    vendor: 'adyen',
    faults: { busy: true },
    status: 'DEGRADED',
    reasons: ['BUSY'],
    outcome: 'busy',
  },
  {
    name: 'in a transaction',
    vendor: 'adyen',
    transaction: true,
    status: 'DEGRADED',
    reasons: ['BUSY'],
    outcome: 'busy',
  },
  {
    name: 'maintenance',
    vendor: 'adyen',
    faults: { maintenance: true },
    status: 'DOWN',
    reasons: ['MAINTENANCE'],
    outcome: 'ok',
  },
  {
    name: 'slow',
    vendor: 'adyen',
    faults: { slowMs: 300 },
    status: 'READY',
    reasons: [],
    outcome: 'ok',
  },
  {
    name: 'no answer',
    vendor: 'adyen',
    faults: { noAnswer: true },
    status: 'DOWN',
    reasons: ['UNREACHABLE'],
    outcome: 'timeout',
  },
  {
    name: 'bad HMAC',
    vendor: 'adyen',
    faults: { badSignature: true },
    status: 'UNKNOWN',
    reasons: ['AUTH_ERROR'],
    outcome: 'auth_error',
  },
  ...(['garbage', 'truncated', 'wrong-types', 'inner-garbage', 'empty'] as const).map(
    (malformed): Row => ({
      name: `malformed ${malformed}`,
      vendor: 'adyen',
      faults: { malformed },
      status: 'UNKNOWN',
      reasons: ['MALFORMED_RESPONSE'],
      outcome: 'malformed',
    }),
  ),
  // Table-driven from the vendor table: every ErrorCondition a terminal can answer.
  ...ADYEN_ERROR_CONDITION_NAMES.map((errorCondition): Row => {
    const row = ADYEN_CONDITION_HEALTH[errorCondition];
    return {
      name: `ErrorCondition ${errorCondition}`,
      vendor: 'adyen',
      faults: { errorCondition },
      status: statusOf([row.reason]),
      reasons: [row.reason],
      outcome: row.outcome,
    };
  }),
  {
    name: 'wrong passphrase',
    vendor: 'adyen',
    connection: { passphraseRef: 'WRONG_PASSPHRASE' },
    status: 'UNKNOWN',
    reasons: ['AUTH_ERROR'],
    outcome: 'auth_error',
  },
  {
    name: 'nothing listening',
    vendor: 'adyen',
    connection: { url: 'https://127.0.0.1:9/nexo' },
    status: 'DOWN',
    reasons: ['UNREACHABLE'],
    outcome: 'unreachable',
  },
  {
    name: 'unknown PrinterStatus and extra fields',
    vendor: 'adyen',
    faults: { unknownValues: true },
    status: 'READY',
    reasons: ['UNRECOGNISED_VALUE'],
    outcome: 'ok',
    details: {
      globalStatus: 'OK',
      printerStatus: 'CoverOpen',
      unrecognised: [
        {
          field: 'SaleToPOIResponse.DiagnosisResponse.POIStatus.PrinterStatus',
          value: 'CoverOpen',
        },
      ],
    },
  },
  {
    name: 'unknown PrinterStatus still yields the GlobalStatus',
    vendor: 'adyen',
    faults: { unknownValues: true, maintenance: true },
    status: 'DOWN',
    reasons: ['MAINTENANCE', 'UNRECOGNISED_VALUE'],
    outcome: 'ok',
    details: { globalStatus: 'Maintenance', printerStatus: 'CoverOpen' },
  },
  {
    name: 'cloud, healthy',
    vendor: 'adyen',
    kind: 'cloud',
    status: 'READY',
    reasons: [],
    outcome: 'ok',
  },
  {
    name: 'cloud, no paper',
    vendor: 'adyen',
    kind: 'cloud',
    faults: { noPaper: true },
    status: 'DEGRADED',
    reasons: ['PRINTER_NO_PAPER'],
    outcome: 'ok',
  },
  {
    name: 'cloud, API key refused',
    vendor: 'adyen',
    kind: 'cloud',
    connection: { apiKeyRef: 'WRONG_API_KEY' },
    status: 'UNKNOWN',
    reasons: ['AUTH_ERROR'],
    outcome: 'auth_error',
  },
  {
    name: 'mobile SDK expired',
    vendor: 'adyen',
    kind: 'mobile',
    faults: { sdkExpiry: '2020-01-01T00:00:00Z' },
    status: 'DOWN',
    reasons: ['SDK_EXPIRED'],
    outcome: 'ok',
    host: 'reachable',
  },
  {
    name: 'mobile attestation rejected',
    vendor: 'adyen',
    kind: 'mobile',
    faults: {
      attestation: 'Rejected',
      resolvableIssues: [{ name: 'DeveloperOptions', message: 'Turn off developer options' }],
    },
    status: 'DOWN',
    reasons: ['ATTESTATION_REJECTED'],
    outcome: 'ok',
    host: 'reachable',
  },
  {
    name: 'mobile offline payments not forwarded',
    vendor: 'adyen',
    kind: 'mobile',
    faults: { unconfirmedBatches: 3, forwardAttemptStatus: 'Connectivity failure' },
    status: 'DEGRADED',
    reasons: ['OFFLINE_PAYMENTS_UNFORWARDED'],
    outcome: 'ok',
    host: 'reachable',
  },
];

describe.each([
  ['antom', antomRows],
  ['adyen', adyenRows],
] as const)('%s faults end in the right status, reasons, event and metrics', (vendor, rows) => {
  it.each(rows.map((row, i) => [row.name, row, i] as const))('%s', async (_name, row, i) => {
    if (row.connection?.privateKeyRef === 'WRONG_KEY') {
      row.connection.privateKeyRef = stack.secret('wrong-pos-key.pem', otherPrivateKey());
    }
    if (row.connection?.passphraseRef === 'WRONG_PASSPHRASE') {
      row.connection.passphraseRef = stack.secret('wrong-passphrase', 'not the passphrase');
    }
    if (row.connection?.apiKeyRef === 'WRONG_API_KEY') {
      row.connection.apiKeyRef = stack.secret('wrong-api-key', 'not the key');
    }
    const terminalId = `${vendor}-${i}`;
    const { id, entry } = register(row, terminalId);
    await stack.request(SUBJECTS.deviceHealth.terminalsUpsert, entry);
    const sim = vendor === 'antom' ? stack.antom : stack.adyen!;
    if (row.faults) await sim.setFaults(id, row.faults);
    if (row.transaction) await sim.control('POST', `terminals/${id}/transaction`, {});
    const before = await replica.metrics();

    const health = await stack.request<TerminalHealth>(SUBJECTS.deviceHealth.diagnose, {
      terminalId,
    });
    expect({ status: health.status, reasons: health.reasons, outcome: health.outcome }).toEqual({
      status: row.status,
      reasons: row.reasons,
      outcome: row.outcome,
    });

    const events = await eventsOn(stack.jsm, EVENT_SUBJECTS.terminalHealth(vendor, terminalId));
    expect(events.count).toBe(1);
    expect(events.last).toMatchObject({
      terminalId,
      vendor,
      status: row.status,
      reasons: row.reasons,
      previous: null,
    });

    const after = await replica.metrics();
    const delta = (name: string, labels: Record<string, string>) =>
      metric(after, name, labels) - metric(before, name, labels);
    expect(
      delta('tillbus_device_health_diagnoses_total', {
        vendor,
        outcome: row.outcome,
        trigger: 'request',
      }),
    ).toBe(1);
    for (const reason of row.reasons) {
      expect(delta('tillbus_device_health_active_reasons', { vendor, reason }), reason).toBe(1);
    }
    // The terminal moved from UNKNOWN (not yet diagnosed) to its status.
    if (row.status !== 'UNKNOWN') {
      expect(delta('tillbus_device_health_terminals', { vendor, status: row.status })).toBe(1);
      expect(delta('tillbus_device_health_terminals', { vendor, status: 'UNKNOWN' })).toBe(-1);
    }
    if (row.host) {
      expect(
        delta('tillbus_device_health_host_diagnoses_total', { vendor, result: row.host }),
      ).toBe(1);
    }
    if (row.details) expect(health.details).toMatchObject(row.details);
    if (row.faults?.clockSkewMs !== undefined) {
      const skew = row.faults.clockSkewMs as number;
      expect(Math.abs((health.details.clockSkewMs ?? 0) - skew)).toBeLessThan(5_000);
      const skewMetric = 'tillbus_device_health_answer_clock_skew_seconds';
      expect(delta(`${skewMetric}_count`, { vendor })).toBe(1);
      expect(delta(`${skewMetric}_bucket`, { vendor, le: '300' })).toBe(0);
    }
    if (row.name === 'mobile attestation rejected') {
      expect(health.details.resolvableIssues).toEqual([
        { name: 'DeveloperOptions', message: 'Turn off developer options' },
      ]);
    }
    await sim.clearFaults();
  });
});

/** A key the terminal simulator does not know: it answers INVALID_SIGNATURE. */
function otherPrivateKey(): string {
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
    type: 'pkcs8',
    format: 'pem',
  }) as string;
}
