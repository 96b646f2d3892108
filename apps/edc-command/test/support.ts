import { join } from 'node:path';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { loadConfig } from '@tillbus/config';
import {
  BusRequestError,
  type EdcCommandView,
  type EdcPublicEvent,
  SUBJECTS,
} from '@tillbus/contracts';
import { requestJson, safeConnectionOptions, ShiftableClock } from '@tillbus/messaging';
import { type RunningService, startService } from '@tillbus/runtime';
import {
  spawnTypeScript,
  startTestNatsServer,
  waitFor,
  type ChildService,
  type TestNatsServer,
} from '@tillbus/testing';
import { Registry } from 'prom-client';
import { edcCommandModule } from '../src/app.module';
import { BridgePresence } from '../src/vendor/presence';
import { EdcCommandConfig } from '../src/config';
import { BUCKETS, recordKey } from '../src/store/keys';
import { CommandTimers } from '../src/recovery/command-timers';
import type { StoredRecord } from '../src/record/model';

export const SIMULATORS_MAIN = join(__dirname, '../../simulators/src/main.ts');
export const SERVICE_MAIN = join(__dirname, '../src/main.ts');

export type Child = ChildService;

// ---------------------------------------------------------------- the simulator, as a process

export interface SimHandle {
  child: Child;
  prefix: string;
  device(bridge: number, device: number): string;
  bridge(bridge: number): string;
  control<T = Record<string, unknown>>(request: Record<string, unknown>): Promise<T>;
  /** What the device ran for the tests' commands and their recoveries: the baseline reads are left out. */
  executed(deviceId?: string): Promise<Executed[]>;
  /** The GetLastTransaction queries edc-command sent before a payment to read the device's baseline. */
  baselineReads(deviceId?: string): Promise<Executed[]>;
  close(): Promise<void>;
}

type Executed = { requestId: string; commandName: string; deviceId: string };
const isBaselineRead = (command: Executed) => command.requestId.startsWith('base-');

export async function startSim(
  nc: NatsConnection,
  natsUrl: string,
  options: { prefix: string; bridges: number; devices: number; args?: string[] },
): Promise<SimHandle> {
  const controlSubject = `tillbus.sim.kicc-bridge.${options.prefix}`;
  const child = spawnTypeScript(SIMULATORS_MAIN, {}, [
    'kicc-bridge',
    '--nats',
    natsUrl,
    '--prefix',
    options.prefix,
    '--bridges',
    String(options.bridges),
    '--devices',
    String(options.devices),
    '--timing',
    'fast',
    '--heartbeat-ms',
    '1000',
    '--control-subject',
    controlSubject,
    ...(options.args ?? []),
  ]);
  await child.waitForOutput(/kicc-bridge simulator ready/, 60_000);
  const control = async <T>(request: Record<string, unknown>): Promise<T> => {
    const reply = await nc.request(controlSubject, JSON.stringify(request), { timeout: 5_000 });
    const body = JSON.parse(Buffer.from(reply.data).toString()) as { ok: boolean; error?: string };
    if (!body.ok) throw new Error(`simulator: ${body.error}`);
    return body as T;
  };
  const all = async (deviceId?: string) =>
    (await control<{ executed: Executed[] }>({ op: 'executed', deviceId })).executed;
  return {
    child,
    prefix: options.prefix,
    device: (b, d) => `${options.prefix}-b${b}-d${d}`,
    bridge: (b) => `${options.prefix}-b${b}`,
    control,
    executed: async (deviceId) =>
      (await all(deviceId)).filter((command) => !isBaselineRead(command)),
    baselineReads: async (deviceId) => (await all(deviceId)).filter(isBaselineRead),
    close: async () => {
      child.kill('SIGTERM');
      await child.exited;
    },
  };
}

// ---------------------------------------------------------------- edc-command replicas

/** What the tests look at inside a replica: its view of the bridges, and how many commands it runs. */
export interface EngineProbe {
  presence: BridgePresence;
  ownedCount(): number;
}

export interface Replica {
  name: string;
  running: RunningService;
  engine: EngineProbe;
  logs: string[];
  metrics(): Promise<string>;
  close(): Promise<void>;
}

export function serviceConfig(natsUrl: string, env: Record<string, string> = {}): EdcCommandConfig {
  return loadConfig(EdcCommandConfig, {
    NATS_URL: natsUrl,
    NATS_PROVISIONING: 'apply',
    OPS_PORT: '0',
    LOG_LEVEL: 'debug',
    SHUTDOWN_GRACE_MS: '2000',
    EDC_PRESENCE_WARMUP_MS: '3000',
    EDC_SWEEP_INTERVAL_MS: '500',
    EDC_OWNER_LEASE_MS: '3000',
    ...env,
  });
}

/** A replica in this process, on the shared test clock; its log lines are captured. */
export async function startReplica(
  natsUrl: string,
  clock: ShiftableClock,
  name: string,
  env: Record<string, string> = {},
): Promise<Replica> {
  const logs: string[] = [];
  const config = serviceConfig(natsUrl, { REPLICA_ID: name, ...env });
  const running = await startService({
    module: edcCommandModule({ config, clock, logWrite: (line) => logs.push(line) }),
  });
  return {
    name,
    running,
    engine: {
      presence: running.app.get(BridgePresence),
      ownedCount: () => running.app.get(CommandTimers).ownedCount(),
    },
    logs,
    metrics: () => running.app.get(Registry).metrics(),
    close: () => running.close(),
  };
}

// ---------------------------------------------------------------- a POS client

export interface Pos {
  nc: NatsConnection;
  events: EdcPublicEvent[];
  submit(payload: Record<string, unknown>): Promise<EdcCommandView>;
  submitAndWait(payload: Record<string, unknown>, timeoutMs?: number): Promise<EdcCommandView>;
  get(deviceId: string, requestId: string): Promise<EdcCommandView>;
  /** The error a request is refused with. */
  refusal(subject: string, payload: unknown): Promise<BusRequestError>;
  eventsOf(deviceId: string, requestId: string): EdcPublicEvent[];
  outcome(deviceId: string, requestId: string, timeoutMs?: number): Promise<EdcPublicEvent>;
  stored(deviceId: string, requestId: string): Promise<StoredRecord | null>;
  close(): Promise<void>;
}

export async function posClient(natsUrl: string): Promise<Pos> {
  const nc = await connect(
    safeConnectionOptions({
      service: 'test-pos',
      servers: natsUrl,
      requestTimeoutMs: 10_000,
      shutdownGraceMs: 0,
    }),
  );
  const events: EdcPublicEvent[] = [];
  const sub: Subscription = nc.subscribe('tillbus.events.edc.>', {
    callback: (_error, msg) => {
      events.push(JSON.parse(Buffer.from(msg.data).toString()) as EdcPublicEvent);
    },
  });
  const connection = { connect: async () => nc };
  const kv = await new Kvm(nc).open(BUCKETS.commands);
  const request = <T>(subject: string, payload: unknown, timeoutMs = 10_000) =>
    requestJson<T>(connection, subject, payload, { timeoutMs });
  const eventsOf = (deviceId: string, requestId: string) =>
    events
      .filter((e) => e.deviceId === deviceId && e.requestId === requestId)
      .sort((a, b) => a.seq - b.seq);
  return {
    nc,
    events,
    submit: (payload) => request(SUBJECTS.edc.submit, payload),
    submitAndWait: (payload, timeoutMs = 30_000) =>
      request(SUBJECTS.edc.submitAndWait, payload, timeoutMs),
    get: (deviceId, requestId) => request(SUBJECTS.edc.get, { deviceId, requestId }),
    refusal: async (subject, payload) => {
      try {
        await request(subject, payload);
      } catch (error) {
        if (error instanceof BusRequestError) return error;
        throw error;
      }
      throw new Error(`${subject} was not refused`);
    },
    eventsOf,
    outcome: (deviceId, requestId, timeoutMs = 15_000) =>
      waitFor(() => eventsOf(deviceId, requestId).find((e) => e.type === 'outcome'), {
        timeoutMs,
        what: `the outcome event of ${requestId}`,
      }),
    stored: async (deviceId, requestId) => {
      const entry = await kv.get(recordKey(requestId));
      const record = entry && entry.operation === 'PUT' ? entry.json<StoredRecord>() : null;
      return record?.deviceId === deviceId ? record : null;
    },
    close: async () => {
      sub.unsubscribe();
      await nc.drain();
    },
  };
}

// ---------------------------------------------------------------- fixtures

let counter = 0;
export const newRequestId = (label: string) =>
  `${label}-${process.pid}-${Date.now().toString(36)}-${counter++}`;

export function purchase(
  deviceId: string,
  requestId: string,
  value = '104',
  extra: Record<string, unknown> = {},
) {
  return {
    deviceId,
    requestId,
    commandName: 'Purchase',
    params: {
      paymentAmount: { value, currency: 'KRW' },
      taxAmount: { value: '9', currency: 'KRW' },
      tipAmount: { value: '0', currency: 'KRW' },
      creditPayPlan: { installmentNum: '0' },
      paymentExpiryTime: '30',
      acquirerInfo: { acquirerTerminalId: '0788888', acquirerRegistrationNo: '0216001234' },
      ...extra,
    },
  };
}

export function purchaseCancel(
  deviceId: string,
  requestId: string,
  purchaseRequestId: string,
  value = '104',
) {
  return {
    deviceId,
    requestId,
    commandName: 'PurchaseCancel',
    purchase: { deviceId, requestId: purchaseRequestId },
    params: {
      paymentAmount: { value, currency: 'KRW' },
      tipAmount: { value: '0', currency: 'KRW' },
      creditPayPlan: { installmentNum: '0' },
      acquirerInfo: { acquirerTerminalId: '0788888', acquirerRegistrationNo: '0216001234' },
    },
  };
}

export interface OneReplicaStack {
  nats: TestNatsServer;
  pos: Pos;
  sim: SimHandle;
  replica: Replica;
  close(): Promise<void>;
}

/** One nats-server, the simulated bridges and one in-process replica that has heard the `known` device's bridge. */
export async function startOneReplicaStack(
  clock: ShiftableClock,
  prefix: string,
  layout: { bridges: number; devices: number },
  known: [bridge: number, device: number],
  env: Record<string, string> = {},
): Promise<OneReplicaStack> {
  const nats = await startTestNatsServer();
  const pos = await posClient(nats.url);
  const [sim, replica] = await Promise.all([
    startSim(pos.nc, nats.url, { prefix, ...layout }),
    startReplica(nats.url, clock, `${prefix}-replica`, env),
  ]);
  await bridgeKnown(replica, sim.device(...known));
  return {
    nats,
    pos,
    sim,
    replica,
    close: async () => {
      await replica.close();
      await sim.close();
      await pos.close();
      await nats.dispose();
    },
  };
}

/** A one-replica stack whose simulator speaks v2 (`<prefix>2`), plus a v1-only simulator (`<prefix>1`) beside it. */
export interface MixedVersionStack extends OneReplicaStack {
  /** One bridge of one device that lists only protocol version 1 in its heartbeats. */
  v1: SimHandle;
}

export async function startMixedVersionStack(
  clock: ShiftableClock,
  prefix: string,
  layout: { bridges: number; devices: number },
): Promise<MixedVersionStack> {
  const stack = await startOneReplicaStack(clock, `${prefix}2`, layout, [0, 0]);
  const v1 = await startSim(stack.pos.nc, stack.nats.url, {
    prefix: `${prefix}1`,
    bridges: 1,
    devices: 1,
    args: ['--protocol-versions', '1'],
  });
  for (let bridge = 1; bridge < layout.bridges; bridge++)
    await bridgeKnown(stack.replica, stack.sim.device(bridge, 0));
  await bridgeKnown(stack.replica, v1.device(0, 0));
  return {
    ...stack,
    v1,
    close: async () => {
      await v1.close();
      await stack.close();
    },
  };
}

/** Waits until the bridge of a device has been heard by the replica. */
export async function bridgeKnown(replica: Replica, deviceId: string): Promise<void> {
  await waitFor(() => replica.engine.presence.device(deviceId).state === 'online', {
    timeoutMs: 15_000,
    what: `a heartbeat naming ${deviceId}`,
  });
}

/** Every private value the service holds for these records: none may appear in a log line or an event. */
export async function privateValues(
  pos: Pos,
  keys: { deviceId: string; requestId: string }[],
): Promise<string[]> {
  const values: string[] = [];
  for (const { deviceId, requestId } of keys) {
    const record = await pos.stored(deviceId, requestId);
    if (!record || record.kind === 'alias') continue;
    const sources = [
      record.kind === 'command' ? record.result : undefined,
      record.kind === 'command' ? record.params : undefined,
    ];
    for (const source of sources) {
      const info = (source as { acquirerInfo?: Record<string, unknown> } | undefined)?.acquirerInfo;
      for (const field of ['acquirerMetaData', 'signData']) {
        const value = info?.[field];
        if (typeof value === 'string' && value.length > 8) values.push(value);
      }
    }
  }
  return values;
}
