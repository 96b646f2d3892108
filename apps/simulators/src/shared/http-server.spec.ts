import { Agent, createServer, request, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { listen, reachableHost, type ListeningServer } from './http-server';

const started: ListeningServer[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((server) => server.close()));
});

/** A GET over a fresh connection; resolves with the status, or rejects when the connection closes unanswered. */
function get(port: number, agent?: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('listen', () => {
  it('listens on 127.0.0.1 and a free port by default, and says which port', async () => {
    const server = await listen(createServer((_req, res) => res.end('ok')));
    started.push(server);
    expect(server.port).toBeGreaterThan(0);
    expect(await get(server.port)).toBe(200);
  });

  it('rejects when the port is taken', async () => {
    const first = await listen(createServer());
    started.push(first);
    await expect(listen(createServer(), { port: first.port })).rejects.toThrow(/EADDRINUSE/);
  });

  it('closes at once, ending kept-alive connections and requests still waiting for an answer', async () => {
    const waiting: ServerResponse[] = [];
    const server = await listen(
      createServer((req, res) => {
        if (req.url === '/hang') waiting.push(res);
        else res.end('ok');
      }),
    );
    const agent = new Agent({ keepAlive: true });
    expect(await get(server.port, agent)).toBe(200);
    const hanging = new Promise<void>((resolve) => {
      request({ host: '127.0.0.1', port: server.port, path: '/hang' })
        .on('error', () => resolve())
        .end();
    });
    await expect.poll(() => waiting.length).toBe(1);
    await server.close();
    await hanging;
    await expect(get(server.port)).rejects.toThrow(/ECONNREFUSED/);
    agent.destroy();
  });
});

describe('reachableHost', () => {
  it('is 127.0.0.1 for the default and for 0.0.0.0, the host itself otherwise', () => {
    expect([undefined, '', '0.0.0.0', '10.1.2.3', '::1'].map(reachableHost)).toEqual([
      '127.0.0.1',
      '127.0.0.1',
      '127.0.0.1',
      '10.1.2.3',
      '::1',
    ]);
  });
});
