import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCertificates } from './tls';

export interface TestNatsServer {
  url: string;
  port: number;
  /** Where the private server came from: its own process, NATS_URL, or a container. */
  source: 'binary' | 'env' | 'container';
  /** The CA that signed the server's certificate, when it serves TLS (every binary server under vitest does). */
  tls?: { caFile: string };
  /** Stop the server (the store survives); only for a private binary server. */
  stop(): Promise<void>;
  /** Start it again on the same port with the same store. */
  restart(): Promise<void>;
  /** Stop for good and delete the store. */
  dispose(): Promise<void>;
}

export const NATS_INSTALL_HINT =
  'nats-server was not found on PATH. Install it (Debian/Ubuntu: `apt-get install nats-server`; macOS: ' +
  '`brew install nats-server`), or set NATS_URL to a server with JetStream, or run Docker for testcontainers.';

/**
 * A private JetStream server for one test suite: its own port and a temporary store, removed afterwards, so
 * runs never share state. Falls back to NATS_URL, then to testcontainers' NATS module where Docker exists.
 */
export async function startTestNatsServer(
  options: { preferEnv?: boolean } = {},
): Promise<TestNatsServer> {
  const binary = findNatsServerBinary();
  const envUrl = process.env.NATS_URL;
  if (binary && !(options.preferEnv && envUrl)) return startBinary(binary);
  if (envUrl) return fromEnv(envUrl);
  const container = await startContainer();
  if (container) return container;
  throw new Error(NATS_INSTALL_HINT);
}

export function findNatsServerBinary(): string | undefined {
  const explicit = process.env.NATS_SERVER_BIN;
  if (explicit) return explicit;
  const found = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path ? path : undefined;
}

async function startBinary(binary: string): Promise<TestNatsServer> {
  const storeDir = mkdtempSync(join(tmpdir(), 'tillbus-nats-'));
  const port = await freePort();
  let child: ChildProcess | undefined;

  const certificates = runCertificates();
  const tlsArgs = certificates
    ? ['--tls', '--tlscert', certificates.certFile, '--tlskey', certificates.keyFile]
    : [];
  const launch = async () => {
    const proc = spawn(
      binary,
      ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir, ...tlsArgs],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    proc.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    child = proc;
    try {
      await waitForPort(port, 10_000, () => proc.exitCode !== null);
    } catch (error) {
      proc.kill('SIGKILL');
      throw new Error(
        `nats-server did not start on port ${port}: ${(error as Error).message}\n${stderr}`,
      );
    }
  };
  const halt = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  await launch();
  return {
    url: `${certificates ? 'tls' : 'nats'}://127.0.0.1:${port}`,
    port,
    source: 'binary',
    ...(certificates ? { tls: { caFile: certificates.caFile } } : {}),
    stop: halt,
    restart: launch,
    dispose: async () => {
      await halt();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

function fromEnv(url: string): TestNatsServer {
  const unsupported = async () => {
    throw new Error(
      'stop/restart needs a private nats-server binary; NATS_URL points at a shared server',
    );
  };
  return {
    url,
    port: Number(new URL(url.split(',')[0].replace(/^nats:/, 'http:')).port || 4222),
    source: 'env',
    stop: unsupported,
    restart: unsupported,
    dispose: async () => undefined,
  };
}

async function startContainer(): Promise<TestNatsServer | undefined> {
  if (spawnSync('docker', ['info'], { stdio: 'ignore' }).status !== 0) return undefined;
  const moduleName = '@testcontainers/nats';
  let natsModule: {
    NatsContainer: new (image?: string) => { withJetStream(): unknown; start(): Promise<unknown> };
  };
  try {
    natsModule = (await import(moduleName)) as typeof natsModule;
  } catch {
    throw new Error(
      `${NATS_INSTALL_HINT} (Docker is available: \`npm i -D @testcontainers/nats\` enables it)`,
    );
  }
  type Started = {
    getConnectionOptions(): { servers: string };
    stop(): Promise<unknown>;
    restart(): Promise<void>;
  };
  const container = (await (
    new natsModule.NatsContainer('nats:2.10-alpine').withJetStream() as {
      start(): Promise<Started>;
    }
  ).start()) as Started;
  const url = container.getConnectionOptions().servers;
  return {
    url,
    port: Number(url.split(':').pop()),
    source: 'container',
    stop: async () => {
      throw new Error('stop/restart is only supported with a nats-server binary');
    },
    restart: async () => container.restart(),
    dispose: async () => {
      await container.stop();
    },
  };
}

/**
 * A port free right now, for a server another process will bind later. Drawn below the kernel's ephemeral range:
 * a port the kernel handed out (listen(0)) and took back is the next one it hands to the next test's server, so a
 * port from there is often taken by the time the process binds it (EADDRINUSE in a busy run). Never the same
 * port twice in one process.
 */
export async function freePort(): Promise<number> {
  const [low, high] = portsBelowEphemeral();
  for (let attempt = 0; high > low && attempt < 100; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (await canListen(port)) return port;
  }
  return kernelPort();
}

const handedOut = new Set<number>();

function portsBelowEphemeral(): [number, number] {
  let ephemeralLow = 32_768;
  try {
    ephemeralLow = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0],
    );
  } catch {
    // not Linux: the usual default
  }
  return [10_000, Math.min(ephemeralLow, 32_768)];
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function waitForPort(
  port: number,
  timeoutMs: number,
  aborted: () => boolean = () => false,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (aborted()) throw new Error('the process exited');
    if (await canConnect(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`port ${port} did not open within ${timeoutMs} ms`);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1');
  });
}
