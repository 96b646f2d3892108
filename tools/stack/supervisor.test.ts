import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from '@tillbus/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireLock, processesOfStack, readLock, takenPorts } from './lock';
import { groupAlive, STACK_ID_ENV, Supervisor } from './supervisor';

const dir = mkdtempSync(join(tmpdir(), 'tillbus-stack-sup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const FAKE = join(__dirname, 'fixtures/fake-service.mjs');

function fake(name: string, port: number, env: Record<string, string> = {}) {
  return {
    name,
    command: process.execPath,
    args: [FAKE],
    env: { FAKE_PORT: String(port), ...env },
    role: 'service' as const,
  };
}

describe('Supervisor', () => {
  it('stops every process group, helpers included, and leaves no process of the stack', async () => {
    const stackId = randomUUID();
    const lines: string[] = [];
    const s = new Supervisor({
      logDir: join(dir, 'logs-a'),
      stackId,
      onLine: (child, line) => lines.push(`${child.name}: ${line}`),
    });
    s.start(fake('one', await freePort()));
    s.start(fake('two', await freePort()));
    // Each fake service and its helper: four processes carry the stack id.
    await waitFor(() => processesOfStack(stackId).length === 4, { what: '4 processes' });
    await waitFor(() => lines.filter((l) => l.includes('listening on')).length === 2);
    const report = await s.stopAll(5000);
    expect(report.children.map((c) => [c.name, c.code, c.killed])).toEqual([
      ['one', 0, false],
      ['two', 0, false],
    ]);
    expect(processesOfStack(stackId)).toEqual([]);
    expect(readFileSync(join(dir, 'logs-a', 'one.log'), 'utf8')).toContain(
      'an info line for the log only',
    );
  });

  it('kills a group that ignores SIGTERM once the grace period is over', async () => {
    const stackId = randomUUID();
    let listening = false;
    const s = new Supervisor({
      logDir: join(dir, 'logs-b'),
      stackId,
      onLine: (_, line) => (listening ||= line.startsWith('listening')),
    });
    const child = s.start(fake('stubborn', await freePort(), { HELPER_IGNORES_TERM: '1' }));
    await waitFor(() => listening, { what: 'the service with its helper' });
    const report = await s.stopAll(300);
    // The leader exited 0 on SIGTERM; its helper did not, so the group was killed.
    expect(report.children).toEqual([{ name: 'stubborn', code: 0, signal: null, killed: true }]);
    expect(groupAlive(child.pid)).toBe(false);
    expect(processesOfStack(stackId)).toEqual([]);
  });

  it('stops the bus clients before NATS', async () => {
    const s = new Supervisor({ logDir: join(dir, 'logs-c'), stackId: randomUUID() });
    const order: string[] = [];
    const nats = s.start({ ...fake('nats', await freePort()), role: 'nats' });
    const svc = s.start(fake('svc', await freePort()));
    void nats.exited.then(() => order.push('nats'));
    void svc.exited.then(() => order.push('svc'));
    await new Promise((r) => setTimeout(r, 300));
    await s.stopAll(5000);
    expect(order).toEqual(['svc', 'nats']);
  });

  it('reports a child that exits on its own, and stops what it left in its group', async () => {
    const exits: string[] = [];
    const stackId = randomUUID();
    const s = new Supervisor({
      logDir: join(dir, 'logs-d'),
      stackId,
      onUnexpectedExit: (c) => exits.push(`${c.name}:${c.exitCode}`),
    });
    const child = s.start(fake('crashy', await freePort(), { CRASH_AFTER_MS: '200' }));
    await waitFor(() => exits.length === 1);
    expect(exits).toEqual(['crashy:3']);
    expect(child.tail()).toContain('crashing on purpose');
    await s.stopAll(1000);
    // Its helper outlived it in its group, and went with it.
    expect(processesOfStack(stackId)).toEqual([]);
  });
});

describe('single-instance lock', () => {
  it('lets one holder in and tells the next who holds it', async () => {
    const path = join(dir, 'one.lock');
    const first = await acquireLock(path, 'a');
    expect(first.acquired).toBe(true);
    // The holder is this test process; a second orchestrator sees it alive.
    const holderPid = process.pid;
    writeFileSync(path, JSON.stringify({ ...readLock(path), pid: holderPid + 1_000_000 }));
    const second = await acquireLock(path, 'b', (pid) => pid === holderPid + 1_000_000);
    expect(second).toMatchObject({
      acquired: false,
      holder: { pid: holderPid + 1_000_000, stackId: 'a' },
    });
    // A lock that names our own pid was left by an earlier process that had it (pids repeat in containers).
    writeFileSync(path, JSON.stringify({ ...readLock(path), pid: holderPid }));
    expect((await acquireLock(path, 'c', () => true)).acquired).toBe(true);
  });

  it('takes over a lock left by a dead orchestrator and stops the children it left behind', async () => {
    const path = join(dir, 'stale.lock');
    const stackId = randomUUID();
    const orphan = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
      detached: true,
      stdio: 'ignore',
      env: { ...process.env, [STACK_ID_ENV]: stackId },
    });
    // A process at a recorded pid that is not of that stack (a reused pid) must survive.
    const stranger = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
      detached: true,
      stdio: 'ignore',
    });
    try {
      writeFileSync(
        path,
        JSON.stringify({
          pid: 999_999_998,
          startedAt: new Date().toISOString(),
          stackId,
          children: [
            { name: 'orphan', pid: orphan.pid },
            { name: 'stranger', pid: stranger.pid },
          ],
        }),
      );
      await waitFor(() => processesOfStack(stackId).length === 1);
      const result = await acquireLock(path, 'new', () => false);
      expect(result).toMatchObject({ acquired: true, cleanedUp: [`orphan (pid ${orphan.pid})`] });
      expect(groupAlive(orphan.pid!)).toBe(false);
      expect(groupAlive(stranger.pid!)).toBe(true);
      expect(readLock(path)).toMatchObject({ pid: process.pid, stackId: 'new' });
      if (result.acquired) result.lock.release();
      expect(readLock(path)).toBeUndefined();
    } finally {
      stranger.kill('SIGKILL');
      orphan.kill('SIGKILL');
    }
  });

  it('finds planned ports that another program holds', async () => {
    const server = createServer();
    const busy = await freePort();
    await new Promise<void>((r) => server.listen(busy, '127.0.0.1', r));
    const free = await freePort();
    try {
      const taken = await takenPorts([
        { port: free, owner: 'a' },
        { port: busy, owner: 'b' },
      ]);
      expect(taken).toEqual([{ port: busy, owner: 'b' }]);
    } finally {
      server.close();
    }
  });
});
