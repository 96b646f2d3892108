import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  findNatsServerBinary,
  freePort,
  startTestNatsServer,
  type TestNatsServer,
} from '@tillbus/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NATS_INSTALL_HINT, ownServerName, probeNats, selectNats, StackError } from './nats';
import { groupAlive, Supervisor } from './supervisor';

let nats: TestNatsServer;
let dir: string;
const supervisors: Supervisor[] = [];

beforeAll(async () => {
  nats = await startTestNatsServer();
  dir = mkdtempSync(join(tmpdir(), 'tillbus-stack-nats-'));
});
afterEach(async () => {
  for (const s of supervisors.splice(0)) await s.stopAll(2000);
});
afterAll(async () => {
  await nats.dispose();
  rmSync(dir, { recursive: true, force: true });
});

function supervisor(): Supervisor {
  const s = new Supervisor({ logDir: join(dir, 'logs'), stackId: 'nats-test' });
  supervisors.push(s);
  return s;
}

const closedUrl = async () => `nats://127.0.0.1:${await freePort()}`;

describe('NATS selection', () => {
  it('uses NATS_URL when it is set and answers', async () => {
    const choice = await selectNats({
      envUrl: nats.url,
      localUrl: await closedUrl(),
      storeDir: join(dir, 'unused'),
      supervisor: supervisor(),
    });
    expect(choice).toMatchObject({ source: 'env', url: nats.url, notes: [] });
  });

  it('falls back to the local address when NATS_URL does not answer, and says so', async () => {
    const dead = await closedUrl();
    const choice = await selectNats({
      envUrl: dead,
      localUrl: await closedUrl(),
      storeDir: join(dir, 'fallback'),
      supervisor: supervisor(),
    });
    expect(choice.source).toBe('started');
    expect(choice.notes.join('\n')).toContain(`NATS_URL=${dead} does not answer`);
  });

  it('says plainly that NATS_URL is used with whatever state it holds, and whose', async () => {
    const choice = await selectNats({
      envUrl: nats.url,
      localUrl: await closedUrl(),
      storeDir: join(dir, 'unused'),
      supervisor: supervisor(),
    });
    expect(choice.explanation).toMatch(
      /the stack reuses the orders, sessions, devices and keys it already holds \(nats-server [\d.]+, not a tillbus stack's/,
    );
  });

  // Issue 16 §4: `npm start` silently reused whatever state sat on a NATS already answering on 4222.
  it('does not adopt another NATS on the local address: it starts its own beside it, with its own store', async () => {
    const s = supervisor();
    const choice = await selectNats({
      localUrl: nats.url,
      storeDir: join(dir, 'own-store'),
      supervisor: s,
      freePort: () => freePort(),
    });
    expect(choice.source).toBe('started');
    expect(choice.url).not.toBe(nats.url);
    expect(choice.explanation).toContain(join(dir, 'own-store'));
    expect(choice.notes.join('\n')).toContain(
      `${nats.url} is already a NATS server, not a tillbus stack's`,
    );
    expect(choice.notes.join('\n')).toContain(`NATS_URL=${choice.url}`);
    expect(await probeNats(choice.url)).toMatchObject({
      reachable: true,
      jetstream: true,
      serverName: ownServerName(join(dir, 'own-store')),
    });
    // the next start of this checkout knows its own server again, and names the other one's owner
    const again = await selectNats({
      localUrl: choice.url,
      storeDir: join(dir, 'own-store'),
      supervisor: supervisor(),
    });
    expect(again.source).toBe('local');
    const other = await selectNats({
      localUrl: choice.url,
      storeDir: join(dir, 'other-checkout'),
      supervisor: supervisor(),
      freePort: () => freePort(),
    });
    expect(other.source).toBe('started');
    expect(other.notes.join('\n')).toContain(
      `the tillbus stack whose store is ${join(dir, 'own-store')}`,
    );
  });

  it('starts nats-server -js with its store in the given folder when nothing answers', async () => {
    const localUrl = await closedUrl();
    const s = supervisor();
    const choice = await selectNats({
      localUrl,
      storeDir: join(dir, 'store'),
      supervisor: s,
    });
    expect(choice.source).toBe('started');
    expect(choice.explanation).toContain(join(dir, 'store'));
    const probe = await probeNats(localUrl);
    expect(probe).toMatchObject({ reachable: true, jetstream: true });
    const [server] = s.list();
    expect(server.name).toBe('nats-server');
    await s.stopAll(5000);
    expect(groupAlive(server.pid)).toBe(false);
    expect((await probeNats(localUrl)).reachable).toBe(false);
  });

  it('explains how to get nats-server when none runs and none is installed', async () => {
    const error = await selectNats({
      localUrl: await closedUrl(),
      storeDir: join(dir, 'unused'),
      supervisor: supervisor(),
      findBinary: () => undefined,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StackError);
    expect((error as Error).message).toBe(NATS_INSTALL_HINT);
    expect(NATS_INSTALL_HINT).toMatch(/apt-get install nats-server/);
    expect(NATS_INSTALL_HINT).toMatch(/brew install nats-server/);
    expect(NATS_INSTALL_HINT).toMatch(/docker run .* nats:[\d.]+ -js/);
  });

  it('refuses a NATS server without JetStream, saying how to fix it', async () => {
    const port = await freePort();
    const s = supervisor();
    s.start({
      name: 'plain-nats',
      command: findNatsServerBinary()!,
      args: ['-a', '127.0.0.1', '-p', String(port)],
      env: {},
      role: 'nats',
    });
    const url = `nats://127.0.0.1:${port}`;
    await waitUntil(async () => (await probeNats(url)).reachable);
    const error = await selectNats({
      envUrl: url,
      localUrl: await closedUrl(),
      storeDir: dir,
      supervisor: s,
    }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/runs without JetStream.*nats-server -js/s);
  });

  describe('with something that is not NATS on the local address', () => {
    let server: Server;
    let url: string;
    beforeAll(async () => {
      server = createServer((socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
      const port = await freePort();
      await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
      url = `nats://127.0.0.1:${port}`;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it('says the port is taken by something else instead of starting a second server on it', async () => {
      expect(await probeNats(url)).toEqual({ reachable: true, notNats: true });
      const error = await selectNats({
        localUrl: url,
        storeDir: dir,
        supervisor: supervisor(),
      }).catch((e: unknown) => e);
      expect((error as Error).message).toMatch(/taken by a program that is not a NATS server/);
    });
  });

  it('never prints the credentials of a NATS_URL', async () => {
    const { port } = new URL(nats.url.replace('nats:', 'http:'));
    const choice = await selectNats({
      envUrl: `nats://alice:s3cret@127.0.0.1:${port}`,
      localUrl: await closedUrl(),
      storeDir: dir,
      supervisor: supervisor(),
    });
    expect(choice.explanation).not.toContain('s3cret');
    expect(choice.explanation).toContain('***@127.0.0.1');
  });
});

async function waitUntil(probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}
