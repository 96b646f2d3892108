import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { SUBJECTS } from '@tillbus/contracts';
import { freePort, startTestNatsServer, type TestNatsServer } from '@tillbus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli';
import { COMMANDS } from '../src/commands';

let nats: TestNatsServer;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startTestNatsServer();
  nc = await connect({ servers: nats.url });
});
afterAll(async () => {
  await nc.close();
  await nats.dispose();
});

async function cli(argv: string[], natsUrl = nats.url, env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, COMMANDS, {
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    env: { NATS_URL: natsUrl, ...env },
  });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

describe('errors a person can act on', () => {
  it('no NATS reachable: exit 3, the address, and how to get the stack up', async () => {
    const url = `nats://127.0.0.1:${await freePort()}`;
    const run = await cli(['terminals', 'list'], url);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(
      new RegExp(`^error \\[NATS_UNREACHABLE\\]: cannot reach NATS at ${url}`, 'm'),
    );
    expect(run.stderr).toMatch(/^hint: start the local stack with `npm start`, or .*--nats <url>/m);
  });

  it('NATS up but the service is not: exit 3, naming the service', async () => {
    const run = await cli(['orders', 'stuck']);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(
      /^error \[NO_RESPONDERS\]: nothing answers on tillbus\.order-reconciliation\.stuck: the order-reconciliation service is not running/m,
    );
  });

  it('a service that does not answer in time: exit 4, with the timeout', async () => {
    // A stalled replica: it takes the request and never answers.
    const stalled = nc.subscribe(SUBJECTS.deviceHealth.readiness, { queue: 'device-health' });
    await nc.flush();
    try {
      const run = await cli(['terminals', 'readiness', 'antom-1', '--timeout', '300']);
      expect(run.code).toBe(4);
      expect(run.stderr).toMatch(
        /^error \[TIMEOUT\]: device-health did not answer within the timeout \(no answer on tillbus\.device-health\.readiness within 300 ms\)/m,
      );
      expect(run.stderr).toMatch(/^hint: .*--timeout/m);
    } finally {
      stalled.unsubscribe();
    }
  });

  it('the same failures as JSON for scripts', async () => {
    const run = await cli(['--json', 'orders', 'stuck']);
    expect(run.code).toBe(3);
    expect(JSON.parse(run.stdout)).toMatchObject({ error: { code: 'NO_RESPONDERS' } });
  });
});

describe('the tillbus binary', () => {
  const bin = join(__dirname, '../bin/tillbus.js');
  const run = (args: string[]) =>
    spawnSync(process.execPath, [bin, ...args], {
      encoding: 'utf8',
      env: { ...process.env, TILLBUS_CLI_FROM_SOURCE: '1', NATS_URL: nats.url },
    });

  it('prints help and exits 0', () => {
    const help = run(['--help']);
    expect(help.status).toBe(0);
    for (const command of ['terminals list', 'edc purchase', 'orders stuck', 'easycard signon']) {
      expect(help.stdout).toContain(command);
    }
  });

  it('exits 2 on bad usage and 3 when nothing answers', () => {
    expect(run(['edc', 'purchase', 'sim-b0-d0', '12.50']).status).toBe(2);
    const stuck = run(['orders', 'stuck']);
    expect(stuck.status).toBe(3);
    expect(stuck.stderr).toContain('[NO_RESPONDERS]');
  });
});

describe('tillbus provision', () => {
  let fresh: TestNatsServer;
  beforeAll(async () => {
    fresh = await startTestNatsServer();
  });
  afterAll(async () => {
    await fresh?.dispose();
  });

  it('--check lists what is missing (exit 1); provision creates it all, idempotently; then --check passes', async () => {
    const before = await cli(['provision', '--check', '--json'], fresh.url);
    expect(before.code).toBe(1);
    const missing = (JSON.parse(before.stdout) as { missing: string[] }).missing;
    expect(missing).toContain('stream TILLBUS_ORDERS');
    expect(missing).toContain('consumer TILLBUS_EDC_BRIDGE/edc-command');
    expect(missing).toContain('bucket tillbus_easycard_session_sessions');
    expect(before.stderr).toMatch(/NOT_PROVISIONED/);

    const env = { EDC_OWNER_LEASE_MS: '20000', STREAM_REPLICAS: '1' };
    const first = await cli(['provision'], fresh.url, env);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/provisioned \d+ declarations/);
    expect((await cli(['provision'], fresh.url, env)).code).toBe(0);
    const after = await cli(['provision', '--check'], fresh.url);
    expect(after.code).toBe(0);
    expect(after.stdout).toContain('everything is provisioned');
    expect(missing.length).toBeGreaterThanOrEqual(20);
  });

  it('refuses a setting that is not a whole number, or replicas JetStream cannot have', async () => {
    const words = await cli(['provision'], fresh.url, { EDC_RECORD_TTL_MS: '3 days' });
    expect(words.code).toBe(2);
    expect(words.stderr).toMatch(/EDC_RECORD_TTL_MS must be a whole number above 0, not "3 days"/);
    const replicas = await cli(['provision'], fresh.url, { STREAM_REPLICAS: '2' });
    expect(replicas.code).toBe(2);
    expect(replicas.stderr).toMatch(/STREAM_REPLICAS must be 1, 3 or 5/);
  });

  it('takes no arguments', async () => {
    const run = await cli(['provision', 'now'], fresh.url);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/unexpected argument "now"/);
  });
});
