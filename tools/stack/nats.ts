import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { generateTestCertificates } from '@tillbus/testing';
import { Socket } from 'node:net';
import type { Supervisor } from './supervisor';

/** How to get a nats-server when none is running and none is installed. */
export const NATS_INSTALL_HINT = [
  'tillbus needs a NATS server with JetStream, and none was found:',
  '  - NATS_URL is not set (or nothing answers there), and nothing answers on 127.0.0.1:4222;',
  '  - there is no `nats-server` binary on PATH (or in NATS_SERVER_BIN) to start one.',
  'Get one of these, then run `npm start` again:',
  '  Debian/Ubuntu:  sudo apt-get install nats-server',
  '  macOS:          brew install nats-server',
  '  container:      docker run -d --name tillbus-nats -p 4222:4222 nats:2.10 -js',
  '  release:        https://github.com/nats-io/nats-server/releases',
].join('\n');

export class StackError extends Error {
  override readonly name = 'StackError';
}

/** What a NATS server told us when we connected: the first line it sends is `INFO {json}`. */
export interface NatsProbe {
  reachable: boolean;
  /** Something answered but it is not a NATS server. */
  notNats?: boolean;
  jetstream?: boolean;
  version?: string;
}

export interface NatsChoice {
  /** env: NATS_URL; local: a server already on the default address; started: our own nats-server. */
  source: 'env' | 'local' | 'started';
  url: string;
  /** One line for the console: where NATS comes from and why. */
  explanation: string;
  notes: string[];
  /** The CA of the server we started (TLS only); clients verify the server with it. */
  tls?: { caFile: string };
}

export interface SelectNatsOptions {
  envUrl?: string;
  /** Where a local server is looked for and started: nats://127.0.0.1:4222. */
  localUrl?: string;
  storeDir: string;
  findBinary?: () => string | undefined;
  probe?: (url: string) => Promise<NatsProbe>;
  /** Starts `nats-server -js`; tests and the stack pass the supervisor so it is stopped with the rest. */
  supervisor: Pick<Supervisor, 'start'>;
  startTimeoutMs?: number;
}

export const DEFAULT_LOCAL_NATS = 'nats://127.0.0.1:4222';

/**
 * NATS_URL when it is set and reachable; else whatever answers on 127.0.0.1:4222; else our own
 * `nats-server -js` with its store in the ignored `.tillbus/` folder; else a message saying how to get one.
 * A server without JetStream is refused with a clear message, because every service needs JetStream.
 */
export async function selectNats(options: SelectNatsOptions): Promise<NatsChoice> {
  const probe = options.probe ?? probeNats;
  const localUrl = options.localUrl ?? DEFAULT_LOCAL_NATS;
  const notes: string[] = [];

  if (options.envUrl) {
    const servers = splitServers(options.envUrl);
    for (const server of servers) {
      const found = await probe(server);
      if (found.reachable && !found.notNats) {
        requireJetStream(found, `NATS_URL (${redactUrl(server)})`);
        return {
          source: 'env',
          url: options.envUrl,
          explanation: `NATS from NATS_URL: ${servers.map(redactUrl).join(', ')}`,
          notes,
        };
      }
    }
    notes.push(
      `NATS_URL=${servers.map(redactUrl).join(',')} does not answer; looking on ${localUrl} instead`,
    );
  }

  const local = await probe(localUrl);
  if (local.reachable && !local.notNats) {
    requireJetStream(local, localUrl);
    return {
      source: 'local',
      url: localUrl,
      explanation: `NATS already running on ${localUrl} (nats-server ${local.version ?? '?'}); the stack uses it`,
      notes,
    };
  }

  const binary = (options.findBinary ?? findNatsServerBinary)();
  if (!binary) throw new StackError(NATS_INSTALL_HINT);
  const { hostname, port } = hostAndPort(localUrl);
  if (local.notNats) {
    throw new StackError(
      `${hostname}:${port} is taken by a program that is not a NATS server, so tillbus cannot start its own ` +
        `there. Free the port, or set NATS_URL to a NATS server with JetStream.`,
    );
  }
  mkdirSync(options.storeDir, { recursive: true });
  // Our own server serves TLS only, with a certificate from a CA made once for this state folder.
  const tls = generateTestCertificates(join(dirname(options.storeDir), 'tls'));
  const child = options.supervisor.start({
    name: 'nats-server',
    command: binary,
    args: [
      '-js',
      '-a',
      hostname,
      '-p',
      String(port),
      '-sd',
      options.storeDir,
      '--tls',
      '--tlscert',
      tls.certFile,
      '--tlskey',
      tls.keyFile,
    ],
    env: {},
    role: 'nats',
    stopSignal: 'SIGINT',
  });
  const deadline = Date.now() + (options.startTimeoutMs ?? 15_000);
  for (;;) {
    const started = await probe(localUrl);
    if (started.reachable && !started.notNats) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new StackError(
        `nats-server (${binary}) did not start on ${localUrl}; its log is ${child.logFile}:\n${child.tail(10)}`,
      );
    }
    await delay(100);
  }
  const url = `tls://${hostname}:${port}`;
  return {
    source: 'started',
    url,
    explanation: `started ${binary} -js on ${url} (TLS, CA ${tls.caFile}), store in ${options.storeDir}`,
    notes,
    tls: { caFile: tls.caFile },
  };
}

function requireJetStream(found: NatsProbe, where: string): void {
  if (found.jetstream === false) {
    throw new StackError(
      `the NATS server at ${where} runs without JetStream, which every tillbus service needs: restart it with ` +
        `\`nats-server -js\` (or \`jetstream {}\` in its config), or point NATS_URL at one that has it.`,
    );
  }
}

/** Connects, reads the server's INFO line, and hangs up: no client library, no credentials needed. */
export function probeNats(url: string, timeoutMs = 1500): Promise<NatsProbe> {
  const { hostname, port } = hostAndPort(url);
  return new Promise((resolve) => {
    const socket = new Socket();
    let buffer = '';
    let settled = false;
    const finish = (result: NatsProbe) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(
      () =>
        finish(
          buffer || socket.readyState === 'open'
            ? { reachable: true, notNats: true }
            : { reachable: false },
        ),
      timeoutMs,
    );
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const end = buffer.indexOf('\r\n');
      if (end === -1 && buffer.length < 64 * 1024) return;
      const line = end === -1 ? buffer : buffer.slice(0, end);
      if (!line.startsWith('INFO ')) return finish({ reachable: true, notNats: true });
      try {
        const info = JSON.parse(line.slice(5)) as { jetstream?: boolean; version?: string };
        finish({ reachable: true, jetstream: info.jetstream === true, version: info.version });
      } catch {
        finish({ reachable: true, notNats: true });
      }
    });
    socket.once('error', () => finish({ reachable: false }));
    socket.once('close', () =>
      finish(buffer ? { reachable: true, notNats: true } : { reachable: false }),
    );
    socket.connect(port, hostname);
  });
}

export function findNatsServerBinary(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.NATS_SERVER_BIN) return env.NATS_SERVER_BIN;
  const found = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8', env });
  const path = found.stdout?.trim();
  return found.status === 0 && path ? path : undefined;
}

export function splitServers(urls: string): string[] {
  return urls
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function hostAndPort(url: string): { hostname: string; port: number } {
  const withScheme = /^[a-z]+:\/\//i.test(url) ? url : `nats://${url}`;
  const parsed = new URL(withScheme.replace(/^[a-z]+:/i, 'http:'));
  return { hostname: parsed.hostname || '127.0.0.1', port: Number(parsed.port || 4222) };
}

/** NATS URLs may carry user:password; never print them. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
