import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, startTestNatsServer, waitFor, type TestNatsServer } from '@tillbus/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pidAlive, processesOfStack, readLock } from './lock';

/**
 * `npm start` as a user runs it: npm, the repository's own "start" script line, and the orchestrator behind it, in
 * a folder whose tools/stack/start.js runs the orchestrator with stand-in services (fixtures/fake-stack.ts)
 * instead of building and running the real ones. A signal goes to npm's process, as from `kill` or a supervisor.
 */
const ROOT = resolve(__dirname, '..', '..');
const START_SCRIPT = (
  JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }
).scripts.start;

let nats: TestNatsServer;
const dirs: string[] = [];
const started: { pid: number }[] = [];

beforeAll(async () => {
  nats = await startTestNatsServer();
});
afterEach(() => {
  for (const { pid } of started.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
});
afterAll(async () => {
  await nats.dispose();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function checkout(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tillbus-npm-start-'));
  dirs.push(dir);
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'npm-start-check', private: true, scripts: { start: START_SCRIPT } }),
  );
  mkdirSync(join(dir, 'tools', 'stack'), { recursive: true });
  writeFileSync(
    join(dir, 'tools', 'stack', 'start.js'),
    `process.env.TS_NODE_PROJECT = ${JSON.stringify(join(ROOT, 'tsconfig.json'))};\n` +
      `require(${JSON.stringify(require.resolve('@swc-node/register'))});\n` +
      `require(${JSON.stringify(join(__dirname, 'fixtures', 'fake-stack.ts'))});\n`,
  );
  return dir;
}

async function npmStart() {
  const dir = checkout();
  const npm = spawn('npm', ['start'], {
    cwd: dir,
    env: {
      ...process.env,
      npm_config_update_notifier: 'false',
      NATS_URL: nats.url,
      STACK_STATE_DIR: join(dir, '.tillbus'),
      FAKE_PORTS: (await Promise.all([freePort(), freePort()])).join(','),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push({ pid: npm.pid! });
  let output = '';
  npm.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  npm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    npm.once('exit', (code, signal) => r({ code, signal })),
  );
  await waitFor(() => output.includes('fake stack up on'), {
    timeoutMs: 60_000,
    what: 'the stack up behind npm',
  });
  const lock = readLock(join(dir, '.tillbus', 'stack.lock'))!;
  started.push({ pid: lock.pid });
  // Two stand-ins, each with a helper.
  expect(processesOfStack(lock.stackId!)).toHaveLength(4);
  return { npm, exited, output: () => output, lock };
}

describe('npm start', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s to npm stops every process of the stack, and npm exits 0',
    async (signal) => {
      const { npm, exited, output, lock } = await npmStart();
      const sentAt = Date.now();
      npm.kill(signal);
      expect(await exited, output()).toEqual({ code: 0, signal: null });
      const tookMs = Date.now() - sentAt;
      expect(output()).toContain(`${signal}: stopping`);
      expect(output()).toMatch(/fake-1 +exited 0/);
      expect(output()).toContain('stopped; nothing left running');
      expect(pidAlive(lock.pid)).toBe(false);
      expect(processesOfStack(lock.stackId!)).toEqual([]);
      // Each stand-in stops in about 0.1 s; the bound is the stop grace of its phases.
      expect(tookMs).toBeLessThan(10_000);
    },
  );

  it('npm killed by SIGHUP (which it does not pass on): the orchestrator stops the stack by itself', async () => {
    const { npm, exited, output, lock } = await npmStart();
    npm.kill('SIGHUP');
    // npm's own end; what matters is what it leaves behind.
    expect((await exited).signal).toBe('SIGHUP');
    await waitFor(() => !pidAlive(lock.pid), { timeoutMs: 15_000, what: 'the orchestrator gone' });
    expect(output()).toMatch(/the parent process \(pid \d+\) is gone: stopping/);
    expect(output()).toContain('stopped; nothing left running');
    expect(processesOfStack(lock.stackId!)).toEqual([]);
  });
});
