/**
 * What the password-rotation runbook (docs/operations.md, "Rotating a NATS password") says happens, shown on a real
 * nats-server with the services' own connection settings (libs/messaging safeConnectionOptions):
 * - the server reads a password from its environment when it parses its configuration, so a reload (the Helm
 *   chart's config reloader, SIGHUP) keeps the password the process started with: only a restart applies a new one;
 * - a service still holding the old password is closed for good after the servers restart (nats.js gives up after
 *   two authorization errors in a row), so it must be restarted with the new one;
 * - a service started with the new password before the servers have it fails to start instead of waiting.
 * If one of these stops holding, the runbook is no longer true: change it with the test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { safeConnectionOptions } from '@tillbus/messaging';
import {
  findNatsServerBinary,
  freePort,
  generateTestCertificates,
  NATS_INSTALL_HINT,
  runCertificates,
  waitForPort,
  type TestCertificates,
} from '@tillbus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsPassword, passwordVariable } from './nats';

const USER = 'device-health';
const VARIABLE = passwordVariable(USER);

let dir: string;
let config: string;
let port: number;
let server: ChildProcess | undefined;
let tls: TestCertificates;
const clients: NatsConnection[] = [];

/** Starts nats-server as a pod does: the password comes from the environment it was started with. */
async function startServer(password: string): Promise<void> {
  const binary = findNatsServerBinary();
  if (!binary) throw new Error(NATS_INSTALL_HINT);
  const args = ['-c', config, '-a', '127.0.0.1', '-p', String(port), '--tls'];
  const child = spawn(binary, [...args, '--tlscert', tls.certFile, '--tlskey', tls.keyFile], {
    env: { ...process.env, [VARIABLE]: password },
    stdio: 'ignore',
  });
  server = child;
  await waitForPort(port, 10_000, () => child.exitCode !== null);
}

async function stopServer(): Promise<void> {
  const child = server;
  server = undefined;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** A connection exactly as a service opens it (reconnect forever, wait for the first connect). */
async function connectAsService(password: string): Promise<NatsConnection> {
  const nc = await connect(
    safeConnectionOptions({
      service: USER,
      servers: `tls://127.0.0.1:${port}`,
      user: USER,
      pass: password,
      tls: { caFile: tls.caFile },
      requestTimeoutMs: 2000,
      shutdownGraceMs: 1000,
    }),
  );
  clients.push(nc);
  return nc;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tillbus-rotation-'));
  tls = runCertificates() ?? generateTestCertificates(join(dir, 'tls'));
  config = join(dir, 'nats-server.conf');
  // The same mechanism as deploy/nats/auth.conf: `password: $TILLBUS_NATS_<USER>_PASSWORD`.
  writeFileSync(
    config,
    `authorization { users = [ { user: ${USER}, password: $${VARIABLE} } ] }\n`,
  );
  port = await freePort();
});

afterAll(async () => {
  await Promise.all(clients.map((nc) => nc.close().catch(() => undefined)));
  await stopServer();
  rmSync(dir, { recursive: true, force: true });
});

describe('rotating a NATS password', () => {
  const oldPassword = natsPassword();
  const newPassword = natsPassword();

  it('a reload does not apply it: the server keeps the password of its environment at start', async () => {
    await startServer(oldPassword);
    // The Secret changed, but a running process's environment does not: SIGHUP re-reads the file with the old value.
    server!.kill('SIGHUP');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const nc = await connectAsService(oldPassword);
    expect(nc.isClosed()).toBe(false);
    await expect(connectAsService(newPassword)).rejects.toThrow(/Authorization Violation/);
  });

  it('a service with the new password, started before the servers restart, fails to start (it does not wait)', async () => {
    const started = Date.now();
    await expect(connectAsService(newPassword)).rejects.toThrow(/Authorization Violation/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('after the servers restart, a service with the old password is closed for good; the new one connects', async () => {
    const holdsOld = clients.find((nc) => !nc.isClosed())!;
    const closed = holdsOld.closed();
    await stopServer();
    await startServer(newPassword);
    const reason = await Promise.race([
      closed,
      new Promise((resolve) => setTimeout(() => resolve('still open'), 10_000)),
    ]);
    expect(String(reason)).toMatch(/Authorization Violation/);
    expect(holdsOld.isClosed()).toBe(true);
    const renewed = await connectAsService(newPassword);
    await renewed.flush();
    expect(renewed.isClosed()).toBe(false);
  });
});
