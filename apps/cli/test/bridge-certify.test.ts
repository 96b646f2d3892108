import { join } from 'node:path';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  KICC_BRIDGE_DUPLICATE_WINDOW_MS,
  KICC_BRIDGE_STREAM,
  KICC_BRIDGE_SUBJECT_WILDCARDS,
} from '@tillbus/protocols-kicc';
import {
  spawnTypeScript,
  startTestNatsServer,
  type ChildService,
  type TestNatsServer,
} from '@tillbus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli';
import { COMMANDS } from '../src/commands';
import { CERTIFY_CHECKS, certifyBridge, type CertifyReport } from '../src/commands/bridge-certify';

/**
 * The certifier against the KICC bridge simulator, a live bridge in its own process: the correct simulator passes
 * every check, and each misbehaving mode (apps/simulators/src/kicc/misbehaviour.ts) fails the check named for it.
 */

/** For each check, the misbehaviour that must fail it. A new check without an entry fails the first test. */
const FAILING_MODE: Record<string, string> = {
  'heartbeat.device': 'hide-device',
  'version.negotiation': 'wrong-version',
  'purchase.plain': 'bad-purchase-result',
  'purchase.signature': 'no-signature-event',
  'purchase-cancel': 'cancel-wrong-tag',
  'get-last-transaction': 'glt-no-response-command',
  'command-cancel.before-card-read': 'cancel-refused',
  'command-cancel.after-card-read': 'cancel-after-card-read',
  'busy.refused': 'ignore-busy',
  'resend.executed-once': 'execute-resend-twice',
  'timeouts.not-after': 'ignore-not-after',
  'timeouts.vendor': 'slow-results',
  'envelope.fields': 'bad-envelope',
  'envelope.size': 'oversized',
  'card-data': 'leak-card-data',
  'ack.deadline': 'late-ack',
  'seq.order': 'out-of-order-seq',
  'heartbeat.cadence': 'slow-heartbeat',
  'delivery.stream': 'core-publish',
  'delivery.no-duplicates': 'duplicate-results',
  'delivery.outbox-resend': 'no-resend',
};
/** Modes that need the outage step: they run alone, because the step takes the stream away from everyone. */
const OUTAGE_MODES = new Set(['no-resend']);

const SIMULATOR = join(__dirname, '../../simulators/src/kicc/cli.ts');
const CONTROL = 'tillbus.sim.kicc-bridge.certify-test';
const MODES = Object.values(FAILING_MODE);
/** Bridge 0 behaves; bridge i+1 misbehaves with MODES[i]. */
const deviceOf = (i: number) => `cert-b${i}-d0`;
const bridgeOf = (i: number) => `cert-b${i}`;

/** The SDK timeouts, shortened: the simulator's fast timing answers in milliseconds, `slow-results` in 3 s. */
const FAST = { vendorTimeoutMs: () => 2_000, heartbeatWaitMs: 5_000 };

let nats: TestNatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;
let simulator: ChildService;

/** The stream as edc-command declares it (app.module.ts). */
const declareStream = () =>
  jsm.streams.add({
    name: KICC_BRIDGE_STREAM,
    subjects: [KICC_BRIDGE_SUBJECT_WILDCARDS.events],
    duplicate_window: KICC_BRIDGE_DUPLICATE_WINDOW_MS * 1_000_000,
  });

/** The operator of the outage step: removes the stream, then declares it again. */
const outage = async (phase: 'down' | 'up') => {
  if (phase === 'down') await jsm.streams.delete(KICC_BRIDGE_STREAM);
  else await declareStream();
};

beforeAll(async () => {
  nats = await startTestNatsServer();
  nc = await connect({ servers: nats.url });
  jsm = await jetstreamManager(nc);
  await declareStream();
  simulator = spawnTypeScript(SIMULATOR, {}, [
    '--nats',
    nats.url,
    '--bridges',
    String(MODES.length + 1),
    '--prefix',
    'cert',
    '--timing',
    'fast',
    '--heartbeat-ms',
    '1000',
    '--control-subject',
    CONTROL,
  ]);
  await simulator.waitForOutput(/kicc-bridge simulator ready/);
  for (const [i, mode] of MODES.entries()) {
    const reply = await nc.request(
      CONTROL,
      JSON.stringify({ op: 'faults', deviceId: deviceOf(i + 1), faults: { misbehave: [mode] } }),
    );
    expect(reply.json(), mode).toEqual({ ok: true });
  }
}, 60_000);

afterAll(async () => {
  simulator?.kill();
  await simulator?.exited;
  await nc?.close();
  await nats?.dispose();
});

function certify(i: number, outageStep: boolean): Promise<CertifyReport> {
  return certifyBridge({
    servers: nats.url,
    deviceId: deviceOf(i),
    bridgeId: bridgeOf(i),
    simulatorControl: CONTROL,
    outageOperator: outage,
    options: { ...FAST, outage: outageStep },
  });
}

const statusOf = (report: CertifyReport, id: string) =>
  report.checks.find((check) => check.id === id)?.status;

describe('tillbus bridge certify', () => {
  it('lists every check against the misbehaving mode that fails it, and every mode of the simulator', async () => {
    expect(Object.keys(FAILING_MODE).sort()).toEqual(CERTIFY_CHECKS.map((c) => c.id).sort());
    const help = spawnTypeScript(SIMULATOR, {}, ['--help']);
    await help.exited;
    const text = help.output();
    const listed = /--misbehave <mode>[^\n]*\n\s+([\s\S]*?)\n\s+--/.exec(text)?.[1] ?? '';
    const simulatorModes = listed
      .split(/,\s*/)
      .map((mode) => mode.trim())
      .filter(Boolean);
    expect(simulatorModes.length).toBeGreaterThan(0);
    expect([...new Set(MODES)].sort()).toEqual([...simulatorModes].sort());
  });

  it('passes the correct simulator, the outage step included', async () => {
    const report = await certify(0, true);
    const failed = report.checks.filter((c) => c.status !== 'PASS');
    expect(failed, JSON.stringify(failed, null, 2)).toEqual([]);
    expect(report).toMatchObject({ passed: true, bridgeId: bridgeOf(0) });
    expect(report.counts).toEqual({ pass: CERTIFY_CHECKS.length, fail: 0, skip: 0 });
  }, 60_000);

  it('fails the missing outbox resend (no-resend) with delivery.outbox-resend', async () => {
    const index = MODES.indexOf('no-resend') + 1;
    const report = await certify(index, true);
    const check = report.checks.find((c) => c.id === 'delivery.outbox-resend')!;
    expect(check.status, check.evidence).toBe('FAIL');
    expect(check.evidence).toMatch(/never reached the stream/);
  }, 60_000);

  it('fails each misbehaviour with its own check named', async () => {
    const entries = Object.entries(FAILING_MODE).filter(([, mode]) => !OUTAGE_MODES.has(mode));
    const reports = await Promise.all(
      entries.map(([, mode]) => certify(MODES.indexOf(mode) + 1, false)),
    );
    const wrong = entries
      .map(([id, mode], i) => ({ id, mode, status: statusOf(reports[i], id), report: reports[i] }))
      .filter((entry) => entry.status !== 'FAIL')
      .map(({ id, mode, status, report }) => ({ id, mode, status, checks: report.checks }));
    expect(wrong, JSON.stringify(wrong, null, 2)).toEqual([]);
    // without --outage the optional step is reported, not silently passed
    expect(statusOf(reports[0], 'delivery.outbox-resend')).toBe('SKIP');
  }, 120_000);

  it('prints one line per check and exits non-zero on a failure; --json gives the same report', async () => {
    const index = MODES.indexOf('leak-card-data') + 1;
    const out: string[] = [];
    const argv = ['bridge', 'certify', '--device', deviceOf(index), '--bridge', bridgeOf(index)];
    const code = await runCli([...argv, '--simulator', '--control-subject', CONTROL], COMMANDS, {
      stdout: (t) => void out.push(t),
      stderr: (t) => void out.push(t),
      env: { NATS_URL: nats.url },
    });
    const text = out.join('');
    expect(code).toBe(1);
    expect(text).toMatch(
      /^FAIL {2}card-data +card data at result \S+ seq \d+: body\.responseData\.paymentResultInfo\.cardNumber/m,
    );
    expect(text).not.toContain('5236497912345674');
    expect(text).toMatch(/^PASS {2}heartbeat\.device /m);
    expect(text).toMatch(/^error \[CERTIFICATION_FAILED\]: failed: .*card-data/m);

    const json: string[] = [];
    const jsonCode = await runCli(
      [...argv, '--simulator', '--control-subject', CONTROL, '--json'],
      COMMANDS,
      { stdout: (t) => void json.push(t), stderr: () => undefined, env: { NATS_URL: nats.url } },
    );
    expect(jsonCode).toBe(1);
    const report = JSON.parse(json.join('')) as CertifyReport;
    expect(report.passed).toBe(false);
    expect(report.checks.map((c) => c.id)).toEqual(CERTIFY_CHECKS.map((c) => c.id));
    expect(statusOf(report, 'card-data')).toBe('FAIL');
  }, 120_000);

  it('says where NATS is not, with exit 3', async () => {
    const err: string[] = [];
    const code = await runCli(
      ['bridge', 'certify', '--device', 'cert-b0-d0', '--nats', 'nats://127.0.0.1:1'],
      COMMANDS,
      { stdout: () => undefined, stderr: (t) => void err.push(t), env: {} },
    );
    expect(code).toBe(3);
    expect(err.join('')).toMatch(
      /^error \[NATS_UNREACHABLE\]: cannot reach NATS at nats:\/\/127\.0\.0\.1:1/m,
    );
  });

  it('refuses a device id that cannot be a subject token, before touching NATS', async () => {
    const err: string[] = [];
    const code = await runCli(['bridge', 'certify', '--device', 'a.b'], COMMANDS, {
      stdout: () => undefined,
      stderr: (t) => void err.push(t),
      env: { NATS_URL: nats.url },
    });
    expect(code).toBe(2);
    expect(err.join('')).toMatch(/--device must be 1-64 characters/);
  });
});
