import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { STREAMS, SUBJECTS } from '@tillbus/contracts';
import { requestJson, safeConnectionOptions } from '@tillbus/messaging';
import { OpsServer } from '@tillbus/observability';
import { startTestNatsServer, waitFor, type TestNatsServer } from '@tillbus/testing';
import { startDeviceHealth, type DeviceHealthOptions } from '../src/app.module';
import { spawnAdyenFleet, spawnAntomFleet } from './simulators';

export interface Stack {
  nats: TestNatsServer;
  antom: Awaited<ReturnType<typeof spawnAntomFleet>>;
  adyen?: Awaited<ReturnType<typeof spawnAdyenFleet>>;
  dir: string;
  /** File references to the fleets' secrets, as a registry entry holds them. */
  refs: {
    posPrivateKey: string;
    terminalPublicKey: string;
    adyenPassphrase: string;
    adyenApiKey: string;
  };
  /** Environment for a replica of this stack (merge overrides). */
  env(overrides?: Record<string, string>): Record<string, string>;
  /** Writes a secret file and returns its reference. */
  secret(name: string, value: string): string;
  client: NatsConnection;
  jsm: JetStreamManager;
  request<T>(subject: string, payload: unknown, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

export async function startStack(
  options: {
    antomTerminals?: number;
    adyenTerminals?: number;
    adyenMobile?: number;
    adyen?: boolean;
    record?: boolean;
  } = {},
): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'tillbus-device-health-'));
  const [nats, antom, adyen] = await Promise.all([
    startTestNatsServer(),
    spawnAntomFleet({
      terminals: options.antomTerminals ?? 10,
      keysDir: join(dir, 'antom'),
      record: options.record,
    }),
    options.adyen === false
      ? undefined
      : spawnAdyenFleet({
          terminals: options.adyenTerminals ?? 5,
          mobile: options.adyenMobile ?? 0,
          keysDir: join(dir, 'adyen'),
          record: options.record,
        }),
  ]);
  const secret = (name: string, text: string) => {
    writeFileSync(join(dir, name), text, { mode: 0o600 });
    return `file:${join(dir, name)}`;
  };
  const refs = {
    posPrivateKey: `file:${join(dir, 'antom', 'pos-private.pem')}`,
    terminalPublicKey: `file:${join(dir, 'antom', 'terminal-public.pem')}`,
    adyenPassphrase: `file:${join(dir, 'adyen', 'passphrase')}`,
    adyenApiKey: `file:${join(dir, 'adyen', 'cloud-api-key')}`,
  };
  const client = await connect(
    safeConnectionOptions({
      service: 'test',
      servers: nats.url,
      requestTimeoutMs: 10_000,
      shutdownGraceMs: 0,
    }),
  );
  const jsm = await jetstreamManager(client);
  const connection = { connect: async () => client };
  return {
    nats,
    antom,
    adyen,
    dir,
    refs,
    secret,
    client,
    jsm,
    env: (overrides = {}) => ({
      NATS_URL: nats.url,
      NATS_PROVISIONING: 'apply',
      OPS_PORT: '0',
      LOG_LEVEL: 'warn',
      POLL_ENABLED: 'false',
      POLL_INTERVAL_MS: '60000',
      DIAGNOSIS_TIMEOUT_MS: '1500',
      ADYEN_MAX_CLOCK_SKEW_MS: '20',
      SHUTDOWN_GRACE_MS: '2000',
      ...(adyen
        ? {
            ADYEN_TERMINAL_CA_FILE: adyen.caCertPath,
            ADYEN_CLOUD_CA_FILE: adyen.caCertPath,
            ADYEN_CLOUD_ENDPOINT: adyen.url,
          }
        : {}),
      ...overrides,
    }),
    request: <T>(subject: string, payload: unknown, timeoutMs = 10_000) =>
      requestJson<T>(connection, subject, payload, { timeoutMs }),
    close: async () => {
      await client.close();
      await Promise.all([antom.close(), adyen?.close()]);
      await nats.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startReplica(
  stack: Stack,
  overrides: Record<string, string> = {},
  options: DeviceHealthOptions = {},
) {
  const running = await startDeviceHealth(stack.env(overrides), options);
  const opsPort = running.app.get(OpsServer).port!;
  // The transport subscribes without a flush: wait until the server has the subscriptions (no NO_RESPONDERS).
  await waitFor(
    () => stack.request(SUBJECTS.deviceHealth.terminalsList, { limit: 1 }, 1000).then(() => true),
    { what: 'the replica answering on the bus' },
  );
  return {
    ...running,
    opsPort,
    metrics: () => scrape(opsPort),
  };
}

/** `/metrics` as a map from `name{labels}` (labels sorted as exposed) to value. */
export async function scrape(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const at = line.lastIndexOf(' ');
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return values;
}

export function metric(
  values: Map<string, number>,
  name: string,
  labels: Record<string, string> = {},
): number {
  const wanted = Object.entries(labels);
  let total = 0;
  for (const [series, value] of values) {
    const brace = series.indexOf('{');
    const seriesName = brace === -1 ? series : series.slice(0, brace);
    if (seriesName !== name) continue;
    if (wanted.every(([k, v]) => series.includes(`${k}="${v}"`))) total += value;
  }
  return total;
}

/** Events published for one subject, read back from the stream (count and the last one). */
export async function eventsOn(
  jsm: JetStreamManager,
  subject: string,
): Promise<{ count: number; last?: Record<string, unknown> }> {
  const info = await jsm.streams.info(STREAMS.terminalHealth, { subjects_filter: subject });
  const count = info.state.subjects?.[subject] ?? 0;
  if (count === 0) return { count };
  const message = await jsm.streams.getMessage(STREAMS.terminalHealth, { last_by_subj: subject });
  return { count, last: message?.json<Record<string, unknown>>() };
}
