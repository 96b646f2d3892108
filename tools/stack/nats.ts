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
  /** The server's name (`-n`): a stack names its own server after its store, so it knows it again. */
  serverName?: string;
}

export interface NatsChoice {
  /**
   * env: NATS_URL (whatever state it holds); local: this checkout's own server, already running on the default
   * address; started: our own nats-server (on the default address, or beside another one there).
   */
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
  /** Where to start our own server when another one holds the local address (default: the next free port). */
  freePort?: (from: number) => Promise<number>;
}

export const DEFAULT_LOCAL_NATS = 'nats://127.0.0.1:4222';

/** The name a stack gives its own nats-server: its store folder, so a later start knows the server is its own. */
export function ownServerName(storeDir: string): string {
  return `tillbus@${storeDir.replace(/\s/g, '_')}`;
}

/** Whose a server is, from its name, for a person: another checkout's tillbus stack, or someone else's. */
export function whoseServer(found: NatsProbe): string {
  const name = found.serverName;
  if (name?.startsWith('tillbus@'))
    return `the tillbus stack whose store is ${name.slice('tillbus@'.length)}`;
  return `not a tillbus stack's${name ? ` (server name ${name})` : ''}`;
}

/**
 * NATS_URL when it is set and reachable (its state, whatever it holds, said plainly); else this checkout's own
 * server if it already runs on 127.0.0.1:4222; else our own `nats-server -js` with its store in the ignored
 * `.tillbus/` folder: on 4222, or on the next free port when another server holds 4222, whose orders, sessions
 * and devices are not this stack's; else a message saying how to get one. A server without JetStream is refused
 * with a clear message, because every service needs JetStream.
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
        const own = found.serverName === ownServerName(options.storeDir);
        return {
          source: 'env',
          url: options.envUrl,
          explanation:
            `NATS from NATS_URL: ${servers.map(redactUrl).join(', ')}` +
            (own
              ? ` (this checkout's own server, store ${options.storeDir})`
              : `; the stack reuses the orders, sessions, devices and keys it already holds ` +
                `(nats-server ${found.version ?? '?'}, ${whoseServer(found)})`),
          notes,
        };
      }
    }
    notes.push(
      `NATS_URL=${servers.map(redactUrl).join(',')} does not answer; looking on ${localUrl} instead`,
    );
  }

  const name = ownServerName(options.storeDir);
  const local = await probe(localUrl);
  if (local.reachable && !local.notNats && local.serverName === name) {
    requireJetStream(local, localUrl);
    return {
      source: 'local',
      url: localUrl,
      explanation: `NATS already running on ${localUrl} is this checkout's own (store ${options.storeDir}); the stack uses it`,
      notes,
    };
  }

  const binary = (options.findBinary ?? findNatsServerBinary)();
  if (!binary) throw new StackError(NATS_INSTALL_HINT);
  const { hostname, port: localPort } = hostAndPort(localUrl);
  let port = localPort;
  let url = localUrl;
  if (local.reachable && !local.notNats) {
    // someone else's state (another checkout's orders, sessions and devices, signed with other keys) must not
    // become this stack's without anyone noticing: start our own beside it, and say so
    port = await (options.freePort ?? nextFreePort)(localPort + 1);
    url = `tls://${hostname}:${port}`;
    notes.push(
      `${localUrl} is already a NATS server, ${whoseServer(local)}; its orders, sessions and devices are not ` +
        `this stack's, so the stack starts its own on ${url}. Point the CLI at it: NATS_URL=${url} ` +
        `(or --nats ${url}). To use the one on ${localUrl} and its state instead, start with NATS_URL=${localUrl}.`,
    );
  } else if (local.notNats) {
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
      '-n',
      name,
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
    const started = await probe(url);
    if (started.reachable && !started.notNats && started.serverName === name) break;
    if (!child.running || Date.now() > deadline) {
      throw new StackError(
        `nats-server (${binary}) did not start on ${url}; its log is ${child.logFile}:\n${child.tail(10)}`,
      );
    }
    await delay(100);
  }
  url = `tls://${hostname}:${port}`;
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
        const info = JSON.parse(line.slice(5)) as {
          jetstream?: boolean;
          version?: string;
          server_name?: string;
        };
        finish({
          reachable: true,
          jetstream: info.jetstream === true,
          version: info.version,
          ...(info.server_name ? { serverName: info.server_name } : {}),
        });
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

/** The first port from `from` on that nothing listens on (127.0.0.1). */
export async function nextFreePort(from: number): Promise<number> {
  for (let port = from; port < from + 100 && port < 65536; port++) {
    if (!(await probeNats(`nats://127.0.0.1:${port}`, 300)).reachable) return port;
  }
  throw new StackError(
    `no free port for nats-server from ${from} on: set NATS_URL to a NATS with JetStream`,
  );
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
