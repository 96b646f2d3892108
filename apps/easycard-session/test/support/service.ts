import { randomBytes } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { SecretResolver } from '@tillbus/config';
import { EVENT_SUBJECTS, type SessionEvent, STREAMS } from '@tillbus/contracts';
import { ManualClock, requestJson, safeConnectionOptions } from '@tillbus/messaging';
import type { RunningService } from '@tillbus/runtime';
import { OpsServer } from '@tillbus/observability';
import { waitFor } from '@tillbus/testing';
import { startEasyCardSession } from '../../src/app.module';
import { loadEasyCardSessionConfig } from '../../src/config';
import { Scheduler } from '../../src/sessions/scheduler';
import type { SimProcess } from './intella-sim';

export const HOUR = 3_600_000;
/** 2024-01-01 10:00 in Taiwan: far from the settlement window and from midnight. */
export const T0 = Date.UTC(2024, 0, 1, 2, 0, 0);

/** The service's environment for a simulator; secrets travel as env: references, generated per run. */
export function serviceEnv(
  natsUrl: string,
  sim: SimProcess,
  overrides: Record<string, string> = {},
): Record<string, string> {
  const env: Record<string, string> = {
    NATS_URL: natsUrl,
    OPS_PORT: '0',
    LOG_LEVEL: 'debug',
    SHUTDOWN_GRACE_MS: '3000',
    INTELLA_TIMEOUT_MS: '1500',
    EASYCARD_TICK_MS: '25',
    // long backoff: a test moves the clock to show a retry, it never waits for one
    EASYCARD_BACKOFF_BASE_MS: String(10 * 60_000),
    EASYCARD_BACKOFF_MAX_MS: String(60 * 60_000),
    EASYCARD_DISCOVERY_INTERVAL_MS: String(24 * HOUR),
    EASYCARD_KEY_ENCRYPTION_KEY: 'env:TEST_EASYCARD_KEK',
    TEST_EASYCARD_KEK: randomBytes(32).toString('base64'),
    TEST_INTELLA_PUBLIC_KEY: sim.publicKeyPem,
    INTELLA_MERCHANTS: JSON.stringify(
      sim.merchants.map((merchant) => ({
        mchId: merchant.mchId,
        url: sim.url,
        tradePassword: `env:TEST_TP_${merchant.mchId}`,
        publicKey: 'env:TEST_INTELLA_PUBLIC_KEY',
        iv: `env:TEST_IV_${merchant.mchId}`,
      })),
    ),
  };
  for (const merchant of sim.merchants) {
    env[`TEST_TP_${merchant.mchId}`] = merchant.password;
    env[`TEST_IV_${merchant.mchId}`] = merchant.iv;
  }
  return { ...env, ...overrides };
}

export interface InProcessService {
  service: RunningService;
  clock: ManualClock;
  logs: string[];
  scheduler: Scheduler;
  metrics(): Promise<string>;
  /** Waits for `count` more complete ticks (every tick looks at every session). */
  ticks(count?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startInProcess(
  env: Record<string, string>,
  clock = new ManualClock(T0),
): Promise<InProcessService> {
  const logs: string[] = [];
  const config = loadEasyCardSessionConfig({ NATS_PROVISIONING: 'apply', ...env });
  const service = await startEasyCardSession(config, {
    clock,
    logWrite: (line) => logs.push(line),
    secrets: new SecretResolver({ env }),
  });
  const scheduler = service.app.get(Scheduler);
  const ops = service.app.get(OpsServer);
  return {
    service,
    clock,
    logs,
    scheduler,
    metrics: async () => (await fetch(`http://127.0.0.1:${ops.port}/metrics`)).text(),
    ticks: async (count = 2) => {
      const target = scheduler.ticks + count;
      await waitFor(() => scheduler.ticks >= target, { what: `${count} scheduler ticks` });
    },
    close: () => service.close(),
  };
}

/** A POS-side client: requests, and every session event as it arrives. */
export class BusProbe {
  readonly events: SessionEvent[] = [];
  readonly rawEvents: string[] = [];
  private subscription?: Subscription;

  private constructor(readonly nc: NatsConnection) {}

  static async connect(natsUrl: string): Promise<BusProbe> {
    const nc = await connect(
      safeConnectionOptions({
        service: 'test-pos',
        servers: natsUrl,
        requestTimeoutMs: 5000,
        shutdownGraceMs: 0,
      }),
    );
    const probe = new BusProbe(nc);
    probe.subscription = nc.subscribe(EVENT_SUBJECTS.easycardSessionAll, {
      callback: (_error, msg) => {
        const text = msg.string();
        probe.rawEvents.push(text);
        probe.events.push(JSON.parse(text) as SessionEvent);
      },
    });
    return probe;
  }

  async request<T>(subject: string, payload: unknown, timeoutMs = 10_000): Promise<T> {
    return requestJson<T>({ connect: async () => this.nc }, subject, payload, { timeoutMs });
  }

  /** The request's error envelope (code, message), or a failure if it succeeded. */
  async error(
    subject: string,
    payload: unknown,
  ): Promise<{ code: string; message: string; details?: unknown }> {
    try {
      await this.request(subject, payload);
    } catch (error) {
      return error as { code: string; message: string; details?: unknown };
    }
    throw new Error(`${subject} succeeded with ${JSON.stringify(payload)}`);
  }

  /** Events arrive a moment after the state change they report (the outbox is published after the write). */
  async waitForEvents(
    deviceId: string,
    type: SessionEvent['type'] | undefined,
    count = 1,
  ): Promise<SessionEvent[]> {
    await waitFor(() => this.eventsFor(deviceId, type).length >= count, {
      what: `${count} ${type ?? 'any'} event(s) for ${deviceId}`,
    });
    return this.eventsFor(deviceId, type);
  }

  eventsFor(deviceId: string, type?: SessionEvent['type']): SessionEvent[] {
    return this.events.filter(
      (event) => event.deviceId === deviceId && (type === undefined || event.type === type),
    );
  }

  /** Everything the events stream holds, read back from JetStream. */
  async streamContents(): Promise<string[]> {
    const js = jetstream(this.nc);
    const consumer = await js.consumers.get(STREAMS.easycard);
    const out: string[] = [];
    for (;;) {
      const batch = await consumer.fetch({ max_messages: 500, expires: 1000 });
      let got = 0;
      for await (const msg of batch) {
        out.push(msg.string());
        got++;
      }
      if (got === 0) return out;
    }
  }

  async close(): Promise<void> {
    this.subscription?.unsubscribe();
    await this.nc.close();
  }
}

/** The value of one metric series in an exposition text (undefined when absent). */
export function metricValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) {
      return match[3] === '+Inf'
        ? Number.POSITIVE_INFINITY
        : match[3] === '-Inf'
          ? Number.NEGATIVE_INFINITY
          : Number(match[3]);
    }
  }
  return undefined;
}
