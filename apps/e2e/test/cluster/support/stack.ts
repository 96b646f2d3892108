import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { applyProvisioning, PROVISIONING_DEFAULTS, tillbusProvisioning } from '@tillbus/messaging';
import { waitFor } from '@tillbus/testing';
import { stringify } from 'yaml';
import {
  FAST_SETTINGS,
  freeE2ePorts,
  portsConfig,
  processesWithStackId,
  ROOT,
  type ServiceName,
} from '../../support/stack';

export const SERVICES: ServiceName[] = [
  'device-health',
  'order-reconciliation',
  'edc-command',
  'easycard-session',
];

export const KICC_CONTROL = 'tillbus.sim.kicc-bridge.control';

/** The devices the card load drives (one bridge), and one more for the probe each case starts at its fault. */
export const EDC_DEVICES = 6;
export const PROBE_DEVICE = `sim-b0-d${EDC_DEVICES}`;
export const deviceId = (index: number) => `sim-b0-d${index}`;

/**
 * Every service and simulator as `npm start` runs them (the orchestrator, the built services), against the URL list
 * of a JetStream cluster, every stream and bucket at STREAM_REPLICAS=3. No --respawn: a service that exits stops
 * the whole stack, so "every service alive" is the same pids at the end, each answering /healthz.
 */
export interface ClusterStack {
  /** The test's own connection (every node's URL, reconnects forever). */
  nc: NatsConnection;
  output(): string;
  /** The orchestrator has exited (a service failed, or stop()). */
  stopped(): boolean;
  /** Why it stopped: which process exited, with the last lines of its log (read before stop() removes them). */
  whyStopped(): string;
  pids(): Record<string, number>;
  ops(service: ServiceName): string;
  /** Every line of every process's log (`<name>: line`) that contains `needle`, for a failure's diagnosis. */
  logLines(needle: string): string[];
  /** Problems: services whose process changed or exited, or that do not answer /healthz. Empty when all is well. */
  problems(initial: Record<string, number>): Promise<string[]>;
  kicc<T = Record<string, unknown>>(request: Record<string, unknown>): Promise<T>;
  stop(): Promise<number | null>;
}

export interface StartOptions {
  /** Wait for "tillbus is running" (the default); a cold start measures that itself. */
  waitUntilRunning?: boolean;
}

export async function startClusterStack(
  urls: string[],
  options: StartOptions = {},
): Promise<ClusterStack> {
  const dir = mkdtempSync(join(tmpdir(), 'tillbus-cluster-'));
  const stateDir = join(dir, 'state');
  const ports = await freeE2ePorts();
  // As in production: the declarations were provisioned (provisionCluster), the services only verify them.
  const services = Object.fromEntries(
    SERVICES.map((name) => [
      name,
      { ...FAST_SETTINGS[name], STREAM_REPLICAS: 3, NATS_PROVISIONING: 'verify' },
    ]),
  );
  const configFile = join(dir, 'tillbus.cluster.yaml');
  writeFileSync(
    configFile,
    stringify({
      ports: portsConfig(ports),
      antom: { terminals: 1, stores: 1, faults: {} },
      adyen: { terminals: 1, mobile: 0, stores: 1, faults: {} },
      edc: { bridges: 1, devicesPerBridge: EDC_DEVICES + 1, timing: 'fast' },
      easycard: { merchant: 'CLUSTERMCH', readers: 1 },
      dstore: { clientId: 'DSTORE-CLUSTER', posClientId: 'TILLBUS-CLUSTER' },
      services,
    }),
  );

  let output = '';
  const orchestrator: ChildProcess = spawn(
    process.execPath,
    [
      join(ROOT, 'tools/stack/start.js'),
      '--no-build',
      '--config',
      configFile,
      '--state-dir',
      stateDir,
    ],
    {
      cwd: ROOT,
      env: { ...process.env, NATS_URL: urls.join(',') },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  orchestrator.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  orchestrator.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((done) =>
    orchestrator.once('exit', (code) => done(code)),
  );
  const nc = await connect({
    servers: urls,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 100,
    name: 'cluster-test',
  });

  const lock = () =>
    JSON.parse(readFileSync(join(stateDir, 'stack.lock'), 'utf8')) as {
      stackId: string;
      children: { name: string; pid: number }[];
    };
  let stackId = '';
  const whyStopped = () =>
    `orchestrator exit ${orchestrator.exitCode}; ${exitReport(output, join(stateDir, 'logs'))}`;
  const stop = async () => {
    if (orchestrator.exitCode === null) orchestrator.kill('SIGINT');
    const code = await exited;
    await nc.close().catch(() => undefined);
    const left = stackId ? processesWithStackId(stackId) : [];
    rmSync(dir, { recursive: true, force: true });
    if (left.length > 0) throw new Error(`processes of the stack left behind: ${left.join(', ')}`);
    return code;
  };
  const running = async () => {
    await waitFor(() => output.includes('tillbus is running') || orchestrator.exitCode !== null, {
      timeoutMs: 170_000,
      intervalMs: 100,
      what: 'the stack to come up',
    });
    if (orchestrator.exitCode !== null) throw new Error(`npm start failed:\n${whyStopped()}`);
    stackId = lock().stackId;
  };
  if (options.waitUntilRunning !== false) {
    try {
      await running();
    } catch (error) {
      await stop().catch(() => undefined);
      throw new Error(
        `${(error as Error).message}\n--- orchestrator output:\n${output.slice(-6000)}`,
      );
    }
  }

  const ops = (service: ServiceName) => `http://127.0.0.1:${ports[service]}`;
  const pids = () => {
    if (!stackId) stackId = lock().stackId;
    return Object.fromEntries(lock().children.map((c) => [c.name, c.pid]));
  };
  return {
    nc,
    output: () => output,
    stopped: () => orchestrator.exitCode !== null,
    whyStopped,
    pids,
    ops,
    logLines: (needle) => {
      const logDir = join(stateDir, 'logs');
      if (!existsSync(logDir)) return [];
      return readdirSync(logDir).flatMap((file) =>
        readFileSync(join(logDir, file), 'utf8')
          .split('\n')
          .filter((line) => line.includes(needle))
          .map((line) => `${file.replace(/\.log$/, '')}: ${line}`),
      );
    },
    problems: async (initial) => {
      const found: string[] = [];
      if (orchestrator.exitCode !== null)
        found.push(`the stack stopped (exit ${orchestrator.exitCode})`);
      const now = pids();
      for (const service of SERVICES) {
        if (now[service] !== initial[service]) {
          found.push(`${service} was restarted (pid ${initial[service]} → ${now[service]})`);
        }
        const health = await fetch(`${ops(service)}/healthz`, {
          signal: AbortSignal.timeout(2000),
        }).catch((error: Error) => error);
        if (health instanceof Error) found.push(`${service} /healthz: ${health.message}`);
        else if (!health.ok) found.push(`${service} /healthz: HTTP ${health.status}`);
      }
      return found;
    },
    kicc: async <T>(request: Record<string, unknown>) => {
      const reply = await nc.request(KICC_CONTROL, JSON.stringify(request), { timeout: 5000 });
      const body = reply.json<T & { ok: boolean; error?: string }>();
      if (!body.ok) throw new Error(`kicc control ${JSON.stringify(request)}: ${body.error}`);
      return body;
    },
    stop,
  };
}

/**
 * `tillbus provision` at STREAM_REPLICAS=3, as the Kubernetes Job does before the services start: every stream,
 * bucket and durable consumer, on R3. Tried again while the cluster times out (it is still forming its groups).
 */
export async function provisionCluster(urls: string[], timeoutMs = 90_000): Promise<void> {
  const nc = await connect({ servers: urls });
  try {
    const plan = tillbusProvisioning({ ...PROVISIONING_DEFAULTS, STREAM_REPLICAS: 3 });
    await waitFor(
      async () => {
        const jsm = await jetstreamManager(nc, { timeout: 10_000 });
        await applyProvisioning(jsm, new Kvm(nc), plan);
        return true;
      },
      { timeoutMs, intervalMs: 500, what: 'tillbus provision at STREAM_REPLICAS=3' },
    );
  } finally {
    await nc.close();
  }
}

/** For a cold start: waits for the stack the caller started without waiting. */
export async function untilRunning(stack: ClusterStack, timeoutMs: number): Promise<number> {
  const fail = (why: string) =>
    new Error(`${why}\n--- orchestrator output:\n${stack.output().slice(-5000)}`);
  const at = await waitFor(
    () => {
      if (stack.output().includes('tillbus is running')) return Date.now();
      return stack.stopped() ? -1 : undefined;
    },
    { timeoutMs, intervalMs: 50, what: 'the stack to say "tillbus is running"' },
  ).catch((error: Error) => {
    throw fail(error.message);
  });
  if (at < 0) throw fail(`the stack stopped before it was running: ${stack.whyStopped()}`);
  return at;
}

const LOG_LINES = 40;

/**
 * The orchestrator names the process whose exit stopped the stack ("<name> exited (code 1) while the stack was
 * running"); its log says why. Without that line (the orchestrator itself failed), every log's last lines.
 */
function exitReport(output: string, logDir: string): string {
  const tail = (name: string, lines: number) => {
    const file = join(logDir, `${name}.log`);
    if (!existsSync(file)) return `(no log ${file})`;
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  };
  const exited = /^(\S+) exited \(code ([^)]*)\) while the stack was running/m.exec(output);
  if (exited) {
    const [, name, code] = exited;
    return `${name} exited (code ${code}); the last ${LOG_LINES} lines of its log:\n${tail(name, LOG_LINES)}`;
  }
  const logs = existsSync(logDir) ? readdirSync(logDir).filter((f) => f.endsWith('.log')) : [];
  const orchestratorSaid = output.trimEnd().split('\n').slice(-20).join('\n');
  return (
    `no process was reported exiting; the orchestrator's last lines:\n${orchestratorSaid}\n` +
    logs.map((f) => `--- ${f}:\n${tail(f.slice(0, -'.log'.length), 10)}`).join('\n')
  );
}
