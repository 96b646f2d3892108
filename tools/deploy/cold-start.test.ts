import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  freePort,
  spawnTypeScript,
  startTestNatsCluster,
  waitUntilReady,
  type ChildService,
  type TestNatsCluster,
  waitFor,
} from '@tillbus/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './manifests';

/**
 * A fresh install, as Kubernetes runs it: the services start with a new 3-node JetStream cluster whose nodes come up
 * one by one, so JetStream has no leader yet and every API call times out. Then, once it has, edc-command and
 * easycard-session both declare the dead-letter stream R3, and two clients that create and update the same R3 stream
 * while its replicas are still forming both time out too (nats-server 2.9). Each of these used to end the boot.
 */
interface ReadyzBody {
  checks: Record<string, { ok: boolean; detail: string } | undefined>;
}

const EXITED = 'exited';

let cluster: TestNatsCluster | undefined;
const services: ChildService[] = [];
afterAll(async () => {
  for (const service of services) service.kill('SIGKILL');
  await Promise.all(services.map((service) => service.exited));
  await cluster?.stop();
});

function easyCardEnv(): Record<string, string> {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    EASYCARD_KEY_ENCRYPTION_KEY: 'env:COLD_KEK',
    COLD_KEK: randomBytes(32).toString('base64'),
    COLD_PUBLIC_KEY: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    COLD_TRADE_PASSWORD: 'cold-start-password',
    COLD_IV: randomBytes(8).toString('hex'),
    // No intella is needed to become ready: discovery fails (unreachable) and is tried again later.
    INTELLA_MERCHANTS: JSON.stringify([
      {
        mchId: 'COLD0001',
        url: 'http://127.0.0.1:9',
        tradePassword: 'env:COLD_TRADE_PASSWORD',
        publicKey: 'env:COLD_PUBLIC_KEY',
        iv: 'env:COLD_IV',
      },
    ]),
  };
}

describe('a cold start against a fresh 3-node JetStream cluster', () => {
  it('edc-command and easycard-session stay alive, not ready, while it settles, then become ready', async () => {
    cluster = await startTestNatsCluster({ nodes: 3, running: 1 });
    const common = {
      NATS_URL: cluster.urls.join(','),
      NATS_PROVISIONING: 'apply',
      STREAM_REPLICAS: '3',
      OPS_HOST: '127.0.0.1',
    };
    const start = async (service: string, env: Record<string, string>) => {
      const opsPort = await freePort();
      const child = spawnTypeScript(join(ROOT, `apps/${service}/src/main.ts`), {
        ...common,
        OPS_PORT: String(opsPort),
        ...env,
      });
      services.push(child);
      return { service, child, opsUrl: `http://127.0.0.1:${opsPort}` };
    };
    const started = [
      await start('edc-command', { REPLICA_ID: 'cold-start' }),
      await start('easycard-session', easyCardEnv()),
    ];
    // One node has no quorum: both wait, alive, and /readyz names the step they wait on.
    for (const { service, child, opsUrl } of started) {
      const waiting = await waitFor(
        async () => {
          if (child.process.exitCode !== null) return EXITED;
          const res = await fetch(`${opsUrl}/readyz`).catch(() => undefined);
          const body = res?.status === 503 ? ((await res.json()) as ReadyzBody) : undefined;
          return body?.checks.startup?.detail.includes('attempt') && body.checks.startup.detail;
        },
        { timeoutMs: 60_000, intervalMs: 200, what: `${service} waiting on a startup step` },
      );
      if (waiting === EXITED)
        throw new Error(
          `${service} exited while the cluster formed:\n${child.output().slice(-3000)}`,
        );
      console.log(`${service} waiting: ${waiting}`);
      expect(waiting).toMatch(/JetStream|stream|bucket/);
    }
    await Promise.all(cluster.servers.slice(1).map((server) => server.start()));
    const complete = Date.now();
    const readyAfter = await Promise.all(
      started.map(async ({ child, opsUrl }) => {
        await waitUntilReady(child, opsUrl, { timeoutMs: 90_000 });
        return Date.now() - complete;
      }),
    );
    console.log(
      `ready after the last node started: ${started.map(({ service }, i) => `${service} ${readyAfter[i]} ms`).join(', ')}`,
    );
    for (const { child } of started) {
      expect(child.process.exitCode).toBeNull();
      expect(child.output()).not.toContain('service failed to start');
    }
  });
});
