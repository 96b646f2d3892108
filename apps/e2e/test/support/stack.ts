import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { freePort, startTestNatsServer, waitFor, type TestNatsServer } from '@tillbus/testing';
import { stringify } from 'yaml';

export const ROOT = resolve(__dirname, '../../../..');

/**
 * The whole of tillbus as `npm start` runs it: the real orchestrator (tools/stack/start.js) as a process, with
 * every service and simulator its own process, but against a private nats-server, on free ports, with a small
 * fleet and short intervals, from the TypeScript sources (no build needed), and with --respawn so a test can
 * SIGTERM a service and have it started again.
 */
export interface E2eStack {
  nats: TestNatsServer;
  /** A connection for the test's own JetStream and control requests. */
  nc: NatsConnection;
  stateDir: string;
  ports: E2ePorts;
  clockOffsetFile: string;
  /** The orchestrator's output so far. */
  output(): string;
  /** Current pid of a process of the stack (from the lock file). */
  pid(name: string): number;
  ops(service: ServiceName): string;
  /** SIGTERM to one service (its process group); resolves with its exit code, read from its log. */
  terminate(name: ServiceName): Promise<number | null>;
  /** Waits until the orchestrator has started the service again and it is ready. */
  restarted(name: ServiceName, oldPid: number): Promise<void>;
  cli(args: string[], options?: { timeoutMs?: number }): Promise<CliRun>;
  /** JSON over HTTP(S) to a simulator's control API. */
  sim<T = unknown>(
    sim: 'antom-fleet' | 'adyen-fleet' | 'dstore' | 'intella',
    method: string,
    path: string,
    body?: unknown,
  ): Promise<T>;
  /** Ctrl-C for the orchestrator; resolves with its exit code, and fails if any process of the stack survives. */
  stop(): Promise<number | null>;
}

export type ServiceName =
  'device-health' | 'order-reconciliation' | 'edc-command' | 'easycard-session';

export interface E2ePorts {
  'device-health': number;
  'order-reconciliation': number;
  'order-reconciliation-http': number;
  'edc-command': number;
  'easycard-session': number;
  'antom-fleet': number;
  'adyen-fleet': number;
  dstore: number;
  intella: number;
}

const PORT_NAMES: (keyof E2ePorts)[] = [
  'device-health',
  'order-reconciliation',
  'order-reconciliation-http',
  'edc-command',
  'easycard-session',
  'antom-fleet',
  'adyen-fleet',
  'dstore',
  'intella',
];

/** A free port for every service and simulator of a stack the tests start. */
export async function freeE2ePorts(): Promise<E2ePorts> {
  const ports: Partial<E2ePorts> = {};
  for (const name of PORT_NAMES) ports[name] = await freePort();
  return ports as E2ePorts;
}

/** The `ports` section of a stack config (tools/stack) for these ports. */
export function portsConfig(ports: E2ePorts) {
  return {
    'device-health': { ops: ports['device-health'] },
    'order-reconciliation': {
      ops: ports['order-reconciliation'],
      http: ports['order-reconciliation-http'],
    },
    'edc-command': { ops: ports['edc-command'] },
    'easycard-session': { ops: ports['easycard-session'] },
    'antom-fleet': ports['antom-fleet'],
    'adyen-fleet': ports['adyen-fleet'],
    dstore: ports.dstore,
    intella: ports.intella,
  };
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Short intervals so every scenario takes seconds. Each is a documented setting of its service
 * (docs/services/<service>.md); nothing here is a test-only code path.
 */
export const FAST_SETTINGS: Record<ServiceName, Record<string, string | number>> = {
  'device-health': {
    POLL_INTERVAL_MS: 2000,
    POLL_TICK_MS: 50,
    DIAGNOSIS_TIMEOUT_MS: 1000,
    STALE_AFTER_INTERVALS: 5,
  },
  'order-reconciliation': {
    NOTIFY_BASE_DELAY_MS: 200,
    NOTIFY_MAX_DELAY_MS: 1000,
    NOTIFY_TIMEOUT_MS: 2000,
    OUTBOX_ACK_WAIT_MS: 5000,
    EVENTS_ACK_WAIT_MS: 5000,
  },
  'edc-command': {
    EDC_TIMEOUT_PURCHASE_MS: 4000,
    EDC_TIMEOUT_PURCHASE_SIGNATURE_MS: 5000,
    EDC_TIMEOUT_PURCHASE_CANCEL_MS: 4000,
    EDC_RECOVERY_BACKOFF_MS: '0,500,1000',
    EDC_PRESENCE_WARMUP_MS: 2000,
    EDC_OWNER_LEASE_MS: 3000,
    EDC_SWEEP_INTERVAL_MS: 500,
    REPLICA_ID: 'e2e-edc',
  },
  'easycard-session': {
    EASYCARD_TICK_MS: 100,
    EASYCARD_BACKOFF_BASE_MS: 1000,
    EASYCARD_BACKOFF_MAX_MS: 5000,
  },
};

export const E2E_FLEET = {
  antom: { terminals: 4, stores: 2 },
  adyen: { terminals: 2, mobile: 0, stores: 1 },
  edc: { bridges: 1, devicesPerBridge: 6, timing: 'fast' },
  easycard: { merchant: 'E2EMCH', readers: 3 },
} as const;

/** intella and easycard-session run this many simulated ms per real ms in the suite. */
export const CLOCK_RATE = 60;

export async function startE2eStack(): Promise<E2eStack> {
  const nats = await startTestNatsServer();
  const dir = mkdtempSync(join(tmpdir(), 'tillbus-e2e-'));
  const stateDir = join(dir, 'state');
  const clockOffsetFile = join(dir, 'clock-offset-ms');
  writeFileSync(clockOffsetFile, '0\n');
  const ports = await freeE2ePorts();
  const configFile = join(dir, 'tillbus.e2e.yaml');
  writeFileSync(
    configFile,
    stringify({
      ports: portsConfig(ports),
      antom: { ...E2E_FLEET.antom, faults: {} },
      adyen: { ...E2E_FLEET.adyen, faults: {} },
      edc: E2E_FLEET.edc,
      easycard: { ...E2E_FLEET.easycard, clock: { rate: CLOCK_RATE, offsetFile: clockOffsetFile } },
      dstore: { clientId: 'DSTORE-E2E', posClientId: 'TILLBUS-E2E' },
      services: FAST_SETTINGS,
    }),
  );

  let output = '';
  const orchestrator: ChildProcess = spawn(
    process.execPath,
    [
      join(ROOT, 'tools/stack/start.js'),
      '--from-source',
      '--respawn',
      '--config',
      configFile,
      '--state-dir',
      stateDir,
    ],
    { cwd: ROOT, env: { ...process.env, NATS_URL: nats.url }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  orchestrator.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  orchestrator.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((done) =>
    orchestrator.once('exit', (code) => done(code)),
  );
  let nc: NatsConnection | undefined;

  const lock = () =>
    JSON.parse(readFileSync(join(stateDir, 'stack.lock'), 'utf8')) as {
      stackId: string;
      children: { name: string; pid: number }[];
    };
  let stackId = '';
  const stop = async () => {
    if (orchestrator.exitCode === null) orchestrator.kill('SIGINT');
    const code = await exited;
    await nc?.close().catch(() => undefined);
    const left = stackId ? processesWithStackId(stackId) : [];
    await nats.dispose();
    rmSync(dir, { recursive: true, force: true });
    if (left.length > 0) throw new Error(`processes of the stack left behind: ${left.join(', ')}`);
    return code;
  };

  try {
    await waitFor(() => output.includes('tillbus is running') || orchestrator.exitCode !== null, {
      timeoutMs: 170_000,
      intervalMs: 200,
      what: 'the stack to come up',
    });
    if (orchestrator.exitCode !== null) throw new Error(`npm start failed:\n${output}`);
    stackId = lock().stackId;
    nc = await connect({ servers: nats.url });
  } catch (error) {
    await stop().catch(() => undefined);
    throw new Error(
      `${(error as Error).message}\n--- orchestrator output:\n${output.slice(-6000)}`,
    );
  }

  const ops = (service: ServiceName) => `http://127.0.0.1:${ports[service]}`;
  const pid = (name: string) => {
    const child = lock().children.find((c) => c.name === name);
    if (!child) throw new Error(`${name} is not running`);
    return child.pid;
  };
  const stack: E2eStack = {
    nats,
    nc,
    stateDir,
    ports,
    clockOffsetFile,
    output: () => output,
    pid,
    ops,
    terminate: async (name) => {
      const target = pid(name);
      const logFile = join(stateDir, 'logs', `${name}.log`);
      const before = (readFileSync(logFile, 'utf8').match(/^--- exited /gm) ?? []).length;
      process.kill(-target, 'SIGTERM');
      const line = await waitFor(
        () => {
          const exits =
            readFileSync(logFile, 'utf8').match(/^--- exited code=(\S+) signal=(\S+)$/gm) ?? [];
          return exits.length > before ? exits[exits.length - 1] : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 100, what: `${name} to exit` },
      );
      const code = /code=(\S+)/.exec(line)![1];
      return code === 'null' ? null : Number(code);
    },
    restarted: async (name, oldPid) => {
      let seen = 'not started again yet';
      try {
        await waitFor(
          async () => {
            const now = lock().children.find((c) => c.name === name);
            if (!now || now.pid === oldPid) return false;
            const ready = await fetch(`${ops(name)}/readyz`).catch((error: unknown) => {
              seen = `pid ${now.pid}, /readyz unreachable: ${String(error)}`;
              return undefined;
            });
            if (ready && !ready.ok)
              seen = `pid ${now.pid}, /readyz ${ready.status}: ${await ready.text()}`;
            return ready?.ok ?? false;
          },
          { timeoutMs: 120_000, intervalMs: 250, what: `${name} to be started again and ready` },
        );
      } catch (error) {
        // what the service said last: a restart that never gets ready is otherwise unexplained
        const log = readFileSync(join(stateDir, 'logs', `${name}.log`), 'utf8');
        throw new Error(
          `${(error as Error).message}; last seen: ${seen}; its log ends:\n${log.split('\n').slice(-40).join('\n')}`,
          { cause: error },
        );
      }
    },
    cli: (args, options = {}) => runCli(args, nats.url, options.timeoutMs ?? 120_000),
    sim: (sim, method, path, body) => simRequest(sim, ports[sim], stateDir, method, path, body),
    stop,
  };
  return stack;
}

/** The real `tillbus` binary (apps/cli/bin/tillbus.js), from source, as a person runs it. */
export function runCli(args: string[], natsUrl: string, timeoutMs = 120_000): Promise<CliRun> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'apps/cli/bin/tillbus.js'), ...args], {
      env: { ...process.env, NATS_URL: natsUrl, TILLBUS_CLI_FROM_SOURCE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `tillbus ${args.join(' ')} did not finish in ${timeoutMs} ms:\n${stdout}\n${stderr}`,
        ),
      );
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr });
    });
  });
}

async function simRequest<T>(
  sim: string,
  port: number,
  stateDir: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  if (sim !== 'adyen-fleet') {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers: payload ? { 'content-type': 'application/json' } : {},
      body: payload,
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${sim} ${method} ${path}: HTTP ${response.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }
  // The Adyen fleet serves HTTPS with its own CA, which the stack generated into its keys folder.
  const ca = readFileSync(join(stateDir, 'keys/adyen-fleet/cert.pem'));
  return new Promise<T>((resolveRequest, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method,
        ca,
        servername: 'localhost',
        headers: payload ? { 'content-type': 'application/json' } : {},
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => {
          if ((res.statusCode ?? 500) >= 400)
            reject(new Error(`${sim} ${method} ${path}: HTTP ${res.statusCode} ${text}`));
          else resolveRequest((text ? JSON.parse(text) : undefined) as T);
        });
      },
    );
    req.once('error', reject);
    req.end(payload);
  });
}

/** Live processes whose environment carries the stack's id (Linux /proc): what "no orphans" is checked against. */
export function processesWithStackId(stackId: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      if (
        readFileSync(`/proc/${entry}/environ`, 'utf8')
          .split('\0')
          .includes(`TILLBUS_STACK_ID=${stackId}`)
      ) {
        found.push(Number(entry));
      }
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}
