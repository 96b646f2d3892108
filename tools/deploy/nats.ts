import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import {
  findNatsServerBinary,
  freePort,
  generateTestCertificates,
  NATS_INSTALL_HINT,
  runCertificates,
  waitForPort,
  type TestCertificates,
} from '@tillbus/testing';
import { DEPLOY } from './manifests';

export const NATS_CONFIG = join(DEPLOY, 'nats/nats-server.conf');
export const AUTH_CONFIG = join(DEPLOY, 'nats/auth.conf');
/** The simulators overlay: local stack and tests only. */
export const SIMULATORS_OVERLAY = join(DEPLOY, 'nats/simulators.conf');

/** Every user in the production auth.conf, with the account it belongs to. */
export const NATS_USERS = {
  'device-health': 'TILLBUS',
  'order-reconciliation': 'TILLBUS',
  'edc-command': 'TILLBUS',
  'easycard-session': 'TILLBUS',
  provisioner: 'TILLBUS',
  operator: 'TILLBUS',
  'bridge-store0001': 'TILLBUS',
  'bridge-store0002': 'TILLBUS',
  'certify-cert0001': 'TILLBUS',
  pos: 'POS',
  'pos-easycard-store0001': 'POS_EASYCARD',
  'pos-easycard-store0002': 'POS_EASYCARD',
} as const;
/** Users of the production configuration, and `simulators`, which only the overlay adds. */
export type NatsUser = keyof typeof NATS_USERS | 'simulators';
const ALL_USERS: NatsUser[] = [...(Object.keys(NATS_USERS) as NatsUser[]), 'simulators'];

/** The environment variable that carries a user's password into the server (auth.conf: $TILLBUS_NATS_<USER>_PASSWORD). */
export const passwordVariable = (user: NatsUser) =>
  `TILLBUS_NATS_${user.toUpperCase().replace(/-/g, '_')}_PASSWORD`;

/**
 * A password nats-server can take from an environment variable: the server parses a variable's value as a
 * configuration value, so it must start with a letter and hold only letters and digits (a leading digit, or
 * characters such as `$` or `-`, break the parse). docs/deployment.md gives the same rule.
 */
export function natsPassword(): string {
  return `p${randomBytes(24).toString('hex')}`;
}

export interface ConfiguredNats {
  url: string;
  port: number;
  /** Where store leaf nodes connect (TLS). */
  leafPort: number;
  /** The CA, certificate and key the server serves. */
  certificates: TestCertificates;
  passwords: Record<NatsUser, string>;
  /** Everything the server logged (permission violations are logged as errors). */
  log(): string;
  /** A client connection as `user`, replying on `_INBOX_<user>` as libs/messaging and the CLI do. */
  connectAs(user: NatsUser, options?: Partial<ConnectionOptions>): Promise<NatsConnection>;
  dispose(): Promise<void>;
}

/**
 * deploy/nats with the simulators overlay applied (the demo stack and tests that run the simulators): the same
 * nats-server.conf and auth.conf, with simulators.conf's permissions added and its user put in place of the
 * `@overlay-users` line. Returns the path of the composed nats-server.conf in `dir`.
 */
export function composeSimulatorsOverlay(dir: string): string {
  const overlay = readFileSync(SIMULATORS_OVERLAY, 'utf8');
  const [permissions, user] = overlay.split(/^# @overlay-user$/m);
  const auth = readFileSync(AUTH_CONFIG, 'utf8');
  const marker = /^( *)# @overlay-users.*$/m;
  const found = marker.exec(auth);
  if (!found || !user) throw new Error('auth.conf or simulators.conf lost its @overlay marker');
  const composed = auth.replace(marker, `${found[1]}${user.trim()}`);
  writeFileSync(join(dir, 'auth.conf'), `${permissions}\n${composed}`);
  copyFileSync(NATS_CONFIG, join(dir, 'nats-server.conf'));
  return join(dir, 'nats-server.conf');
}

/**
 * Starts nats-server with deploy/nats/nats-server.conf, the same accounts and permissions production uses, on a
 * free port with a temporary store and freshly generated passwords. `simulators: true` adds the simulators
 * overlay (composeSimulatorsOverlay); without it the files run exactly as shipped.
 */
export async function startConfiguredNats(
  options: { simulators?: boolean } = {},
): Promise<ConfiguredNats> {
  const binary = findNatsServerBinary();
  if (!binary) throw new Error(NATS_INSTALL_HINT);
  const port = await freePort();
  const storeDir = mkdtempSync(join(tmpdir(), 'tillbus-nats-auth-'));
  const config = options.simulators ? composeSimulatorsOverlay(storeDir) : NATS_CONFIG;

  const passwords = Object.fromEntries(ALL_USERS.map((user) => [user, natsPassword()])) as Record<
    NatsUser,
    string
  >;
  const leafPort = await freePort();
  const tls = certificates(storeDir);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...tlsVariables(tls),
    TILLBUS_NATS_LEAF_PORT: String(leafPort),
  };
  for (const user of ALL_USERS) {
    env[passwordVariable(user)] = passwords[user];
  }
  const child: ChildProcess = spawn(
    binary,
    ['-c', config, '-a', '127.0.0.1', '-p', String(port), '-sd', join(storeDir, 'store')],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const append = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-2_000_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  try {
    await waitForPort(port, 10_000, () => child.exitCode !== null);
  } catch (error) {
    child.kill('SIGKILL');
    rmSync(storeDir, { recursive: true, force: true });
    throw new Error(
      `nats-server with ${NATS_CONFIG} did not start: ${(error as Error).message}\n${output}`,
    );
  }
  const url = `tls://127.0.0.1:${port}`;
  const connections: NatsConnection[] = [];
  return {
    url,
    port,
    leafPort,
    certificates: tls,
    passwords,
    log: () => output,
    async connectAs(user, overrides = {}) {
      const nc = await connect({
        servers: url,
        user,
        pass: passwords[user],
        name: `test-${user}`,
        inboxPrefix: `_INBOX_${user}`,
        maxReconnectAttempts: 0,
        ...overrides,
      });
      connections.push(nc);
      return nc;
    },
    async dispose() {
      await Promise.all(connections.map((nc) => nc.close().catch(() => undefined)));
      const exited = new Promise<void>((resolve) => {
        if (child.exitCode !== null) resolve();
        else child.once('exit', () => resolve());
      });
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

/** `nats-server -t`: parses a configuration (with every password variable set) without starting a server. */
export function checkNatsConfig(
  configPath: string,
  passwords: Partial<Record<NatsUser, string>> = {},
  extraEnv: (tls: TestCertificates) => Record<string, string> = () => ({}),
): { ok: boolean; output: string } {
  const binary = findNatsServerBinary();
  if (!binary) throw new Error(NATS_INSTALL_HINT);
  const dir = mkdtempSync(join(tmpdir(), 'tillbus-nats-check-'));
  const tls = certificates(dir);
  const env = { ...process.env, ...tlsVariables(tls), ...extraEnv(tls) };
  for (const user of ALL_USERS) {
    env[passwordVariable(user)] = passwords[user] ?? natsPassword();
  }
  const run = spawnSync(binary, ['-c', configPath, '-t'], { env, encoding: 'utf8' });
  rmSync(dir, { recursive: true, force: true });
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}

/** The run's certificates (vitest's global setup), or a pair made in `dir` when run outside vitest. */
function certificates(dir: string): TestCertificates {
  return runCertificates() ?? generateTestCertificates(join(dir, 'tls'));
}

/** The server certificate and key nats-server.conf reads, and a leaf-node port for a configuration check. */
function tlsVariables(files: TestCertificates): Record<string, string> {
  return {
    TILLBUS_NATS_TLS_CERT_FILE: files.certFile,
    TILLBUS_NATS_TLS_KEY_FILE: files.keyFile,
    TILLBUS_NATS_LEAF_PORT: '7422',
  };
}
