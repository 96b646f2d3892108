import { spawnSync } from 'node:child_process';
import { connect as tcpConnect } from 'node:net';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCertificates, startTestNatsServer, type TestNatsServer } from '../src';

let nats: TestNatsServer;
beforeAll(async () => {
  nats = await startTestNatsServer();
});
afterAll(async () => {
  await nats?.dispose();
});

/** The first line a NATS server sends: INFO {json}. */
function serverInfo(port: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (chunk) => {
      data += chunk.toString();
      const line = data.split('\r\n')[0];
      if (data.includes('\r\n')) {
        socket.destroy();
        resolve(JSON.parse(line.replace(/^INFO /, '')) as Record<string, unknown>);
      }
    });
    socket.on('error', reject);
  });
}

describe('every nats-server the tests start serves TLS only', () => {
  it('is a tls:// server that requires TLS of every client, with a certificate from this run’s CA', async () => {
    expect(runCertificates()).toBeDefined();
    expect(nats.url).toMatch(/^tls:\/\/127\.0\.0\.1:\d+$/);
    expect(nats.tls?.caFile).toBe(runCertificates()!.caFile);
    expect(await serverInfo(nats.port)).toMatchObject({ tls_required: true });
  });

  it('a client that verifies the server with the run’s CA connects over TLS (as every test client does)', async () => {
    const nc = await connect({ servers: nats.url, maxReconnectAttempts: 0 });
    expect(nc.info?.tls_required).toBe(true);
    await nc.flush();
    await nc.close();
  });

  it('a client that does not trust the CA is refused: clients verify the server', () => {
    const script = `require('@nats-io/transport-node').connect({ servers: ${JSON.stringify(nats.url)}, maxReconnectAttempts: 0 })
      .then(() => { console.log('CONNECTED'); process.exit(0); }, (e) => { console.log('REFUSED', e.message); process.exit(1); });`;
    const run = spawnSync(process.execPath, ['-e', script], {
      encoding: 'utf8',
      env: { ...process.env, NODE_EXTRA_CA_CERTS: '' },
      timeout: 20_000,
    });
    expect(run.stdout).toMatch(/REFUSED/);
    expect(run.stdout).not.toMatch(/CONNECTED/);
  });

  it('a client that will not speak TLS is refused', async () => {
    await expect(
      connect({ servers: `nats://127.0.0.1:${nats.port}`, tls: null, maxReconnectAttempts: 0 }),
    ).rejects.toThrow();
  });
});
