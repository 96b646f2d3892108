import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../../..');
const SIMULATORS_MAIN = join(ROOT, 'apps/simulators/src/main.ts');
const REGISTER = require.resolve('@swc-node/register');

export interface SimFault {
  kind: string;
  serviceType?: string;
  mchId?: string;
  deviceId?: string;
  times?: number;
  delayMs?: number;
}

export interface SimReader {
  deviceId: string;
  mchId: string;
  signOnRequests: number;
  signOns: number;
  settlementRequests: number;
  settlements: number;
  retries: number;
}

export interface SimMerchant {
  mchId: string;
  password: string;
  iv: string;
  readerCount?: number;
  readers?: string[];
}

/**
 * The intella simulator as a real process (apps never import apps), driven over its HTTP control API. Keys are
 * generated here, at test time: the simulator gets the private key, the service the public one.
 */
export interface SimProcess {
  url: string;
  controlUrl: string;
  publicKeyPem: string;
  merchants: SimMerchant[];
  output(): string;
  addFault(fault: SimFault): Promise<{ id: number }>;
  clearFaults(): Promise<void>;
  readers(): Promise<SimReader[]>;
  reader(deviceId: string): Promise<SimReader>;
  counters(): Promise<{
    requests: number;
    byServiceType: Record<string, number>;
    byAnswer: Record<string, number>;
  }>;
  issuedKeys(): Promise<Record<string, string[]>>;
  addReader(mchId: string, deviceId: string): Promise<void>;
  stop(): Promise<void>;
}

export function randomIv(): string {
  return randomBytes(8).toString('hex');
}

export async function startSimulatorProcess(options: {
  merchants: SimMerchant[];
  args?: string[];
}): Promise<SimProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'easycard-sim-'));
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyFile = join(dir, 'intella.key.pem');
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const configFile = join(dir, 'sim.json');
  const passwordEnv: Record<string, string> = {};
  writeFileSync(
    configFile,
    JSON.stringify({
      port: 0,
      merchants: options.merchants.map((merchant, i) => {
        passwordEnv[`SIM_TP_${i}`] = merchant.password;
        return {
          mchId: merchant.mchId,
          tradePasswordEnv: `SIM_TP_${i}`,
          iv: merchant.iv,
          readerCount: merchant.readerCount,
          readers: merchant.readers,
        };
      }),
    }),
  );
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--conditions=tillbus-source',
      '-r',
      REGISTER,
      SIMULATORS_MAIN,
      'intella',
      '--config',
      configFile,
      '--private-key-file',
      keyFile,
      ...(options.args ?? []),
    ],
    {
      env: { ...process.env, ...passwordEnv, TS_NODE_PROJECT: join(ROOT, 'tsconfig.json') },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const started = await new Promise<{ url: string; control: string }>((done, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`the simulator did not start:\n${output}`)),
      60_000,
    );
    const check = () => {
      const line = output.split('\n').find((l) => l.includes('"intella simulator listening"'));
      if (!line) return;
      clearTimeout(timer);
      child.stdout?.off('data', check);
      done(JSON.parse(line) as { url: string; control: string });
    };
    child.stdout?.on('data', check);
    child.once('exit', () => fail(new Error(`the simulator exited:\n${output}`)));
  });
  const control = async <T>(method: string, route: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${started.control}${route}`, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status >= 400)
      throw new Error(`simulator control ${method} ${route}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  };
  return {
    url: started.url,
    controlUrl: started.control,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    merchants: options.merchants,
    output: () => output,
    addFault: (fault) => control('POST', '/faults', fault),
    clearFaults: async () => {
      await control('DELETE', '/faults');
    },
    readers: async () => (await control<{ readers: SimReader[] }>('GET', '/counters')).readers,
    reader: async (deviceId) => {
      const found = (await control<{ readers: SimReader[] }>('GET', '/counters')).readers.find(
        (reader) => reader.deviceId === deviceId,
      );
      if (!found) throw new Error(`the simulator has no reader ${deviceId}`);
      return found;
    },
    counters: () => control('GET', '/counters'),
    issuedKeys: () => control('GET', '/issued-keys'),
    addReader: async (mchId, deviceId) => {
      await control('POST', '/readers', { mchId, deviceId });
    },
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
