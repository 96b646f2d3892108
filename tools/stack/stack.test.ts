import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  freePort,
  spawnTypeScript,
  startTestNatsServer,
  waitFor,
  type ChildService,
  type TestNatsServer,
} from '@tillbus/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { portFree, processesOfStack, readLock } from './lock';
import { consoleLine } from './stack';

const ENTRY = join(__dirname, 'fixtures/fake-stack.ts');
let nats: TestNatsServer;
const started: ChildService[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  nats = await startTestNatsServer();
});
afterEach(() => {
  for (const child of started.splice(0)) child.kill('SIGKILL');
});
afterAll(async () => {
  await nats.dispose();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tillbus-stack-'));
  dirs.push(dir);
  return dir;
}

function orchestrator(env: Record<string, string>): ChildService {
  const child = spawnTypeScript(ENTRY, { NATS_URL: nats.url, ...env });
  started.push(child);
  return child;
}

async function ports(n: number): Promise<string> {
  return (await Promise.all(Array.from({ length: n }, () => freePort()))).join(',');
}

describe('the orchestrator as a process', () => {
  it('runs one stack per checkout, refuses a second, and stops everything on Ctrl-C', async () => {
    const dir = stateDir();
    const fakePorts = await ports(2);
    const first = orchestrator({ STACK_STATE_DIR: dir, FAKE_PORTS: fakePorts });
    await first.waitForOutput(/fake stack up on (nats|tls):\/\/127\.0\.0\.1:\d+ \(env\)/, 60_000);
    // Phase by phase, and the table only once the last process said it is up.
    const out = first.output();
    expect(out.indexOf('[fake-0] listening')).toBeLessThan(out.indexOf('[fake-1] listening'));
    expect(out.indexOf('[fake-1] listening')).toBeLessThan(out.indexOf('fake stack up'));
    expect(first.output()).toContain('[fake-0] warn a warning for the console');
    expect(first.output()).not.toContain('an info line for the log only');
    const lock = readLock(join(dir, 'stack.lock'))!;
    expect(lock.pid).toBe(first.process.pid);
    // Two stand-ins, each with a helper process.
    expect(processesOfStack(lock.stackId!)).toHaveLength(4);

    const second = orchestrator({ STACK_STATE_DIR: dir, FAKE_PORTS: fakePorts });
    expect((await second.exited).code).toBe(1);
    expect(second.output()).toContain(
      `tillbus is already running here (orchestrator pid ${first.process.pid}`,
    );
    expect(second.output()).toContain('fake stack up on'); // it repeats where things run

    // The same ports from another checkout (another state folder): a clear message, not EADDRINUSE.
    const elsewhere = orchestrator({ STACK_STATE_DIR: stateDir(), FAKE_PORTS: fakePorts });
    expect((await elsewhere.exited).code).toBe(1);
    expect(elsewhere.output()).toMatch(
      /port \d+ \(fake-0 port\), port \d+ \(fake-1 port\) are already in use/,
    );

    first.kill('SIGINT');
    // npm forwards the terminal's Ctrl-C too: a second signal right after the first is the same press.
    first.kill('SIGINT');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(first.output()).toContain('stopped; nothing left running');
    expect(first.output()).not.toContain('killing everything now');
    expect(processesOfStack(lock.stackId!)).toEqual([]);
    expect(readLock(join(dir, 'stack.lock'))).toBeUndefined();
  });

  it('after an orchestrator was killed -9, the next start stops what it left behind', async () => {
    const dir = stateDir();
    const fakePorts = await ports(1);
    const killed = orchestrator({ STACK_STATE_DIR: dir, FAKE_PORTS: fakePorts });
    await killed.waitForOutput(/fake stack up/, 60_000);
    const { stackId } = readLock(join(dir, 'stack.lock'))!;
    killed.kill('SIGKILL');
    await killed.exited;
    expect(processesOfStack(stackId!)).toHaveLength(2); // orphans, until the next start

    const next = orchestrator({ STACK_STATE_DIR: dir, FAKE_PORTS: fakePorts });
    await next.waitForOutput(/fake stack up/, 60_000);
    expect(next.output()).toMatch(/a previous stack was killed .*stopped: fake-0 \(pid \d+\)/);
    expect(processesOfStack(stackId!)).toEqual([]);
    const { stackId: nextId } = readLock(join(dir, 'stack.lock'))!;
    // A closed terminal: a clean stop too.
    next.kill('SIGHUP');
    expect((await next.exited).code).toBe(0);
    expect(processesOfStack(nextId!)).toEqual([]);
  });

  it('stops the whole stack, with the log tail, when one process dies', async () => {
    const dir = stateDir();
    const child = orchestrator({
      STACK_STATE_DIR: dir,
      FAKE_PORTS: await ports(2),
      FAKE_CRASH_AFTER_MS: '1500',
    });
    expect((await child.exited).code).toBe(1);
    expect(child.output()).toMatch(/fake-0 exited \(code 3\) while the stack was running/);
    expect(child.output()).toContain('crashing on purpose');
    expect(child.output()).toMatch(/fake-1 +exited 0/);
    expect(child.output()).toContain('stopped; nothing left running');
    expect(readLock(join(dir, 'stack.lock'))).toBeUndefined();
  });

  it('with --respawn, starts a process that exits again, and still stops everything at the end', async () => {
    const dir = stateDir();
    const child = orchestrator({
      STACK_STATE_DIR: dir,
      FAKE_PORTS: await ports(2),
      FAKE_RESPAWN: '1',
    });
    await child.waitForOutput(/fake stack up/, 60_000);
    const lock = readLock(join(dir, 'stack.lock'))!;
    const first = lock.children.find((c) => c.name === 'fake-1')!;
    process.kill(-first.pid, 'SIGTERM');
    await child.waitForOutput(/fake-1 exited \(code 0\); starting it again/);
    const again = await waitFor(() => {
      const now = readLock(join(dir, 'stack.lock'))!.children.find((c) => c.name === 'fake-1');
      return now && now.pid !== first.pid ? now : undefined;
    });
    expect(again.pid).not.toBe(first.pid);
    await child.waitForOutput(/fake-1\] listening on \d+[\s\S]*fake-1\] listening on/);
    child.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);
    // The stop report names each running process once.
    expect(child.output().match(/ {2}fake-1 +exited 0/g), child.output()).toHaveLength(1);
    expect(processesOfStack(lock.stackId!)).toEqual([]);
  });

  it('with --respawn, backs off a crash loop, then leaves that process down while the rest runs on', async () => {
    const dir = stateDir();
    const fakePorts = await ports(3);
    const natsPort = await freePort();
    const child = orchestrator({
      STACK_STATE_DIR: dir,
      FAKE_PORTS: fakePorts,
      NATS_URL: '',
      TEST_LOCAL_NATS: `nats://127.0.0.1:${natsPort}`,
      FAKE_RESPAWN: '1',
      FAKE_RESPAWN_BACKOFF_MS: '100',
      FAKE_CRASH_LOOP_FILE: join(dir, 'crash-loop'),
    });
    await child.waitForOutput(/fake stack up on .* \(started\)/, 60_000);
    const before = readLock(join(dir, 'stack.lock'))!;
    const others = before.children.filter((c) => c.name !== 'fake-1');
    expect(others.map((c) => c.name).sort()).toEqual(['fake-0', 'fake-2', 'nats-server']);
    // fake-1 goes down once; every start after that exits at once.
    process.kill(-before.children.find((c) => c.name === 'fake-1')!.pid, 'SIGKILL');

    await child.waitForOutput(/fake-1 failed: it exited \(code 3\) 5 times in a row/, 30_000);
    const out = child.output();
    expect(out).toContain('fake-1 exited (code SIGKILL); starting it again (log:');
    // Exponential and capped: 0.1 s, 0.2 s, then 0.4 s (the cap).
    expect(out).toMatch(/starting it again in 0\.1 s \(exit 2 in a row\)/);
    expect(out).toMatch(/starting it again in 0\.2 s \(exit 3 in a row\)/);
    expect(out).toMatch(/starting it again in 0\.4 s \(exit 4 in a row\)/);
    expect(out).toContain('crashing at start');
    // Left down, and the rest untouched: same processes, still answering, the orchestrator still running.
    await new Promise((r) => setTimeout(r, 1000));
    expect(child.process.exitCode).toBeNull();
    const after = readLock(join(dir, 'stack.lock'))!;
    expect(after.children).toEqual(others);
    expect(after.summary).toMatch(/left down after a crash loop: fake-1 \(log: /);
    const [sim, , service] = fakePorts.split(',').map(Number);
    for (const port of [sim, service, natsPort]) expect(await portFree(port)).toBe(false);
    expect(child.output()).not.toContain('stopping every process');

    child.kill('SIGTERM');
    // Stopped cleanly, and the exit code says one process was left down.
    expect((await child.exited).code).toBe(1);
    expect(child.output()).toMatch(/fake-1 +left down after a crash loop/);
    expect(child.output()).toMatch(/fake-2 +exited 0/);
    expect(child.output()).toContain('stopped; nothing left running');
    expect(processesOfStack(before.stackId!)).toEqual([]);
  });

  it('stops a build under way on SIGTERM, its helpers included', async () => {
    const dir = stateDir();
    const buildId = randomUUID();
    const child = orchestrator({
      STACK_STATE_DIR: dir,
      FAKE_PORTS: await ports(1),
      FAKE_BUILD_ID: buildId,
    });
    await child.waitForOutput(/building \(stand-in\)/, 60_000);
    await waitFor(() => processesOfStack(buildId).length === 2, {
      what: 'the build and its helper',
    });
    child.kill('SIGTERM');
    expect((await child.exited).code).toBe(130);
    expect(processesOfStack(buildId)).toEqual([]);
    expect(child.output()).toContain('SIGTERM: stopping');
    expect(child.output()).not.toContain('failed (exit');
    expect(readLock(join(dir, 'stack.lock'))).toBeUndefined();
  });

  it('says how to get NATS when there is none, and leaves nothing behind', async () => {
    const dir = stateDir();
    const child = orchestrator({
      STACK_STATE_DIR: dir,
      FAKE_PORTS: await ports(1),
      NATS_URL: `nats://127.0.0.1:${await freePort()}`,
      TEST_LOCAL_NATS: `nats://127.0.0.1:${await freePort()}`,
      TEST_NO_NATS_BINARY: '1',
    });
    expect((await child.exited).code).toBe(1);
    expect(child.output()).toContain('sudo apt-get install nats-server');
    expect(child.output()).toContain('brew install nats-server');
    expect(readLock(join(dir, 'stack.lock'))).toBeUndefined();
  });

  it('starts its own nats-server when nothing answers, and stops it last', async () => {
    const dir = stateDir();
    const natsUrl = `nats://127.0.0.1:${await freePort()}`;
    const child = orchestrator({
      STACK_STATE_DIR: dir,
      FAKE_PORTS: await ports(1),
      NATS_URL: '',
      TEST_LOCAL_NATS: natsUrl,
    });
    await child.waitForOutput(/fake stack up on .* \(started\)/, 60_000);
    const { stackId } = readLock(join(dir, 'stack.lock'))!;
    child.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);
    expect(child.output()).toMatch(/fake-0 +exited 0\n\s+nats-server +exited 0/);
    await waitFor(() => processesOfStack(stackId!).length === 0);
  });
});

describe('console lines', () => {
  it.each([
    ['plain text', 'listening on 8080', false, '[x] listening on 8080'],
    ['info JSON', '{"level":"info","msg":"hello"}', false, undefined],
    ['info JSON, verbose', '{"level":"info","msg":"hello"}', true, '[x] info hello'],
    [
      'warn JSON with an error',
      '{"level":"warn","msg":"slow","error":"timeout","code":"U"}',
      false,
      '[x] warn slow (code=U error=timeout)',
    ],
    [
      'warn JSON about a command',
      '{"level":"warn","msg":"command outcome","deviceId":"d1","requestId":"r1","phase":"failed","outcome":"FAILED","secret":"x"}',
      false,
      '[x] warn command outcome (deviceId=d1 requestId=r1 phase=failed outcome=FAILED)',
    ],
    ['nats-server info', '[14120] 2026/11/21 06:47:17.574 [INF] Server is ready', false, undefined],
    [
      'nats-server warning',
      '[1] 2026/11/21 06:47:17.574 [WRN] Low disk',
      false,
      '[x] [1] 2026/11/21 06:47:17.574 [WRN] Low disk',
    ],
    ['broken JSON', '{"level":', false, '[x] {"level":'],
    ['blank', '   ', false, undefined],
  ])('%s', (_, line, verbose, expected) => {
    expect(consoleLine('x', line, verbose)).toBe(expected);
  });
});
