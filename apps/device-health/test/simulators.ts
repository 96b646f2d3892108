import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join, resolve } from 'node:path';

/**
 * The Antom and Adyen fleet simulators as the user runs them: their own processes, started through
 * apps/simulators/src/main.ts, driven over their HTTP control endpoints (apps never import each other).
 */
export interface SimProcess {
  url: string;
  output(): string;
  control<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }>;
  setFaults(id: string, faults: Record<string, unknown>): Promise<void>;
  clearFaults(): Promise<void>;
  records(): Promise<{ id: string; at: number; hostDiagnosis?: boolean }[]>;
  counters(): Promise<{
    total: number;
    duplicateServiceIds?: number;
    byTerminal: Record<string, number>;
  }>;
  kill(signal?: NodeJS.Signals): void;
  close(): Promise<void>;
}

const MAIN = resolve(__dirname, '../../simulators/src/main.ts');
const REGISTER = require.resolve('@swc-node/register');

function spawnSimulator(args: string[]) {
  const child = spawn(
    process.execPath,
    ['--conditions=tillbus-source', '-r', REGISTER, MAIN, ...args],
    {
      env: { ...process.env, TS_NODE_PROJECT: resolve(__dirname, '../../../tsconfig.json') },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const waitFor = (pattern: RegExp, timeoutMs = 60_000) =>
    new Promise<RegExpMatchArray>((done, fail) => {
      const deadline = Date.now() + timeoutMs;
      const check = () => {
        const match = output.match(pattern);
        if (match) return done(match);
        if (child.exitCode !== null || Date.now() > deadline) {
          return fail(new Error(`simulator did not print ${pattern}:\n${output.slice(-2000)}`));
        }
        setTimeout(check, 25);
      };
      check();
    });
  return {
    child,
    output: () => output,
    waitFor,
    kill: (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
    },
    close: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

function wrap(
  process: ReturnType<typeof spawnSimulator>,
  url: string,
  send: (
    method: string,
    path: string,
    body?: unknown,
  ) => Promise<{ status: number; body: unknown }>,
): SimProcess {
  const control = async <T>(method: string, path: string, body?: unknown) =>
    (await send(method, path, body)) as { status: number; body: T };
  return {
    url,
    output: process.output,
    control,
    async setFaults(id, faults) {
      const answer = await control('PUT', `terminals/${encodeURIComponent(id)}/faults`, faults);
      if (answer.status !== 200) throw new Error(`faults refused: ${JSON.stringify(answer.body)}`);
    },
    async clearFaults() {
      await control('DELETE', 'faults');
    },
    async records() {
      const { body } = await control<{
        records: { serial?: string; poiId?: string; at: number; hostDiagnosis?: boolean }[];
      }>('GET', 'records');
      return body.records.map((r) => ({
        id: (r.serial ?? r.poiId)!,
        at: r.at,
        hostDiagnosis: r.hostDiagnosis,
      }));
    },
    async counters() {
      return (await control('GET', 'counters')).body as never;
    },
    kill: process.kill,
    close: process.close,
  };
}

export async function spawnAntomFleet(options: {
  terminals: number;
  keysDir: string;
  prefix?: string;
  record?: boolean;
}): Promise<SimProcess & { keysDir: string }> {
  const process = spawnSimulator([
    'antom-fleet',
    '--terminals',
    String(options.terminals),
    '--serial-prefix',
    options.prefix ?? 'ANTOMSIM',
    '--port',
    '0',
    '--keys-dir',
    options.keysDir,
    ...(options.record ? ['--record'] : []),
  ]);
  const [, url] = await process.waitFor(/terminals at (http:\/\/[^\s]+) /);
  const send = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url}/_sim/${path}`, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as unknown };
  };
  return { ...wrap(process, url, send), keysDir: options.keysDir };
}

export async function spawnAdyenFleet(options: {
  terminals: number;
  mobile?: number;
  keysDir: string;
  record?: boolean;
}): Promise<
  SimProcess & {
    keysDir: string;
    caCertPath: string;
    passphrase: string;
    cloudApiKey: string;
    nexoUrl: string;
  }
> {
  const process = spawnSimulator([
    'adyen-fleet',
    '--terminals',
    String(options.terminals),
    '--mobile',
    String(options.mobile ?? 0),
    '--port',
    '0',
    '--keys-dir',
    options.keysDir,
    '--cloud',
    ...(options.record ? ['--record'] : []),
  ]);
  const [, nexoUrl] = await process.waitFor(/ at (https:\/\/[^\s]+\/nexo)/);
  const url = nexoUrl.replace(/\/nexo$/, '');
  const caCertPath = join(options.keysDir, 'cert.pem');
  const ca = readFileSync(caCertPath, 'utf8');
  const send = (method: string, path: string, body?: unknown) =>
    new Promise<{ status: number; body: unknown }>((done, fail) => {
      const req = httpsRequest(`${url}/_sim/${path}`, { method, ca }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => done({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      });
      req.on('error', fail);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  return {
    ...wrap(process, url, send),
    keysDir: options.keysDir,
    caCertPath,
    nexoUrl,
    passphrase: readFileSync(join(options.keysDir, 'passphrase'), 'utf8').trim(),
    cloudApiKey: readFileSync(join(options.keysDir, 'cloud-api-key'), 'utf8').trim(),
  };
}
