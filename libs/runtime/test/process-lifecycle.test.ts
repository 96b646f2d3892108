import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  spawnTypeScript,
  startTestNatsServer,
  waitFor,
  type ChildService,
  type TestNatsServer,
} from '@tillbus/testing';
import { networkInterfaces } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { requestJson, safeConnectionOptions } from '@tillbus/messaging';
import { ECHO_SUBJECTS } from './fixtures/echo-app';

const ENTRY = `${__dirname}/fixtures/echo-main.ts`;
let nats: TestNatsServer;
let service: ChildService | undefined;
let client: NatsConnection | undefined;

beforeEach(async () => {
  nats = await startTestNatsServer();
});
afterEach(async () => {
  service?.kill('SIGKILL');
  await client?.close().catch(() => undefined);
  await nats.dispose();
});

async function startServiceProcess(extraEnv: Record<string, string> = {}) {
  service = spawnTypeScript(ENTRY, {
    NATS_URL: nats.url,
    OPS_PORT: '0',
    LOG_LEVEL: 'info',
    ...extraEnv,
  });
  await service.waitForOutput(/"msg":"connected to NATS"/, 60_000);
  // The service subscribes right after connecting; wait until it answers.
  client = await connect(
    safeConnectionOptions({
      service: 'test-client',
      servers: nats.url,
      requestTimeoutMs: 1000,
      shutdownGraceMs: 0,
    }),
  );
  const nc = client;
  await waitFor(
    () =>
      requestJson(connectionOf(nc), ECHO_SUBJECTS.echo, { id: 'ping' }, { timeoutMs: 500 }).then(
        () => true,
      ),
    {
      what: 'the service to answer',
      timeoutMs: 30_000,
    },
  );
  return nc;
}

const connectionOf = (nc: NatsConnection) => ({ connect: async () => nc });

/** The ops port the child chose (OPS_PORT=0), read from its startup log line. */
async function opsBase(): Promise<string> {
  const line = await service!.waitForOutput(/"msg":"ops server listening","port":\d+/);
  return `http://127.0.0.1:${line.match(/"port":(\d+)/)![1]}`;
}

async function readyzStatus(base: string): Promise<number> {
  return (await fetch(`${base}/readyz`)).status;
}

describe('service process lifecycle', () => {
  it('SIGTERM with 20 requests in flight: all 20 are answered, then the process exits 0', async () => {
    const nc = await startServiceProcess({ SHUTDOWN_GRACE_MS: '10000' });
    const inFlight = Array.from({ length: 20 }, (_, i) =>
      requestJson<{ id: string }>(
        connectionOf(nc),
        ECHO_SUBJECTS.slow,
        { id: `slow-${i}`, delayMs: 1500 },
        { timeoutMs: 10_000 },
      ),
    );
    const ops = await opsBase();
    expect(await readyzStatus(ops)).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    service!.kill('SIGTERM');
    // While the 20 are still being answered, the probe already tells the load balancer to stop sending work.
    await waitFor(async () => (await readyzStatus(ops)) === 503, {
      timeoutMs: 1000,
      what: '/readyz to turn 503',
    });
    const answers = await Promise.allSettled(inFlight);
    expect(answers.filter((a) => a.status === 'fulfilled')).toHaveLength(20);
    expect(answers.map((a) => (a.status === 'fulfilled' ? a.value.id : 'failed')).sort()).toEqual(
      Array.from({ length: 20 }, (_, i) => `slow-${i}`).sort(),
    );
    const exit = await service!.exited;
    expect(exit).toEqual({ code: 0, signal: null });
  });

  it('survives a 30 s broker outage and answers again within 2 s of the broker returning', async () => {
    const nc = await startServiceProcess();
    const ops = await opsBase();
    expect(await readyzStatus(ops)).toBe(200);
    await nats.stop();
    await new Promise((r) => setTimeout(r, 30_000));
    expect(service!.process.exitCode).toBeNull();
    expect(await readyzStatus(ops)).toBe(503);
    expect(await (await fetch(`${ops}/metrics`)).text()).toContain('tillbus_nats_connected 0');
    await nats.restart();
    const back = Date.now();
    await waitFor(
      () =>
        requestJson(
          connectionOf(nc),
          ECHO_SUBJECTS.echo,
          { id: 'after-outage' },
          { timeoutMs: 250 },
        ).then(() => true),
      { timeoutMs: 10_000, intervalMs: 50, what: 'a successful request after the outage' },
    );
    const recoveryMs = Date.now() - back;
    expect(recoveryMs).toBeLessThanOrEqual(2000);
    expect(service!.process.exitCode).toBeNull();
    expect(service!.output()).toContain('disconnected from NATS; reconnecting forever');
    await waitFor(async () => (await readyzStatus(ops)) === 200, {
      timeoutMs: 5000,
      what: '/readyz back to 200',
    });
  }, 90_000);

  it('refuses an invalid configuration with one readable line and exit code 1', async () => {
    const bad = spawnTypeScript(ENTRY, { NATS_URL: 'http://nope', OPS_PORT: 'x' });
    const exit = await bad.exited;
    expect(exit.code).toBe(1);
    const lines = bad.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ level: 'error', msg: 'service failed to start' });
    expect(lines[0]).toContain('NATS_URL must be one or more comma-separated');
    expect(lines[0]).toContain('OPS_PORT');
    expect(lines[0]).not.toContain('http://nope');
  });

  it('listens on OPS_HOST only: with 127.0.0.1, no other address of this host reaches the ops server', async () => {
    await startServiceProcess({ OPS_HOST: '127.0.0.1' });
    const line = await service!.waitForOutput(
      /\{[^\n]*"msg":"ops server listening"[^\n]*\}/,
      30_000,
    );
    const { host, port } = JSON.parse(line) as { host: string; port: number };
    expect(host).toBe('127.0.0.1');
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((address) => address && address.family === 'IPv4' && !address.internal)
      .map((address) => address!.address);
    for (const address of others) {
      await expect(fetch(`http://${address}:${port}/healthz`)).rejects.toThrow();
    }
  });

  it('refuses an OPS_HOST that is not an IP address at startup, naming the setting', async () => {
    const bad = spawnTypeScript(ENTRY, { NATS_URL: nats.url, OPS_HOST: 'localhost:9464' });
    expect((await bad.exited).code).toBe(1);
    const line = bad.output().trim().split('\n')[0];
    expect(JSON.parse(line)).toMatchObject({ level: 'error', msg: 'service failed to start' });
    expect(line).toContain('OPS_HOST must be an IP address to listen on');
  });
});
