import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { constants, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { cpus } from 'node:os';
import { join } from 'node:path';

/**
 * What the order-reconciliation benchmarks share: the service (or a fixture) as a process pinned to a core, a
 * D-Store client written from protocols.md §2 over node:http, and the process's CPU time from /proc.
 */
export const ORDER_ID = 'pds_2109xxxxxxxxxxxx_2022xxxxxxxxxxxxxxx_1';
export const INQUIRE_PATH = '/v2/pos/inquireOrderDetail';
export const CLIENT = 'DSTORE-BENCH';

export const hasTaskset =
  spawnSync('sh', ['-c', 'command -v taskset']).status === 0 && cpus().length > 1;

export function pinned(core: number, args: string[], env: Record<string, string>): ChildProcess {
  const command = hasTaskset ? 'taskset' : process.execPath;
  const argv = hasTaskset ? ['-c', String(core), process.execPath, ...args] : args;
  return spawn(command, argv, {
    env: { ...process.env, ...env, TS_NODE_PROJECT: join(__dirname, '..', 'tsconfig.json') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export const tsArgs = (entry: string) => [
  '--conditions=tillbus-source',
  '-r',
  require.resolve('@swc-node/register'),
  entry,
];

export function outputOf(child: ChildProcess): () => string {
  let text = '';
  child.stdout?.on('data', (c: Buffer) => (text += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (text += c.toString()));
  return () => text;
}

export interface Signed {
  headers: Record<string, string>;
  body: Buffer;
}

export function signedRequest(key: KeyObject, path: string, body: Buffer, time: number): Signed {
  const content = Buffer.concat([Buffer.from(`POST ${path}\n${CLIENT}.${time}.`), body]);
  const signature = sign('sha256', content, { key, padding: constants.RSA_PKCS1_PADDING });
  return {
    body,
    headers: {
      'Content-Type': 'application/json; charset=UTF-8',
      'Client-Id': CLIENT,
      'Request-Time': String(time),
      Signature: `algorithm=RSA256,keyVersion=1,signature=${encodeURIComponent(signature.toString('base64'))}`,
    },
  };
}

export function signInquiry(key: KeyObject, time: number): Signed {
  return signedRequest(
    key,
    INQUIRE_PATH,
    Buffer.from(JSON.stringify({ requestOrderId: ORDER_ID })),
    time,
  );
}

/** Request-Times that never repeat (so no signature is a replay): now, or one millisecond before the last one. */
let lastTime = Number.MAX_SAFE_INTEGER;
export function uniqueTime(): number {
  lastTime = Math.min(Date.now(), lastTime - 1);
  return lastTime;
}

export function presign(key: KeyObject, count: number): Signed[] {
  return Array.from({ length: count }, () => signInquiry(key, uniqueTime()));
}

export function post(
  agent: Agent,
  port: number,
  path: string,
  signed: Signed,
): Promise<{ headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'POST', agent, headers: signed.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(signed.body);
  });
}

/** User + system CPU seconds of a process so far (Linux /proc). */
export function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** The order every inquiry reads, stored with one signed createOrder. */
export async function createBenchOrder(base: string, key: KeyObject): Promise<void> {
  const order = Buffer.from(
    JSON.stringify({
      orderChannel: 'GRABFOOD',
      serviceType: 'DELIVERY',
      requestOrderId: ORDER_ID,
      posAccountId: 'acct-1',
      posStoreId: 'store-7',
      channelOrderId: 'GF-0001',
      expectFulfillmentTime: '2026-12-07T12:30:00+08:00',
      orderProducts: [{ sku: 'latte', qty: 2 }],
      orderAmount: { value: 9800, currency: 'KRW' },
    }),
  );
  const signed = signedRequest(key, '/v2/pos/createOrder', order, Date.now());
  const created = await fetch(`${base}/v2/pos/createOrder`, {
    method: 'POST',
    body: signed.body,
    headers: signed.headers,
  });
  const createdBody = (await created.json()) as { result: { resultCode: string } };
  if (createdBody.result.resultCode !== 'SUCCESS')
    throw new Error(`createOrder failed: ${JSON.stringify(createdBody)}`);
}

/** The environment of a bench service process: keys by reference, limits out of the way unless overridden. */
export function benchServiceEnv(
  natsUrl: string,
  httpPort: number,
  keys: { dstorePublic: KeyObject; posPrivate: KeyObject },
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    NATS_URL: natsUrl,
    OPS_PORT: '0',
    HTTP_PORT: String(httpPort),
    HTTP_HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    DSTORE_CLIENT_IDS: CLIENT,
    DSTORE_PUBLIC_KEY_REF: 'env:BENCH_DSTORE_PUBLIC_KEY',
    POS_PRIVATE_KEY_REF: 'env:BENCH_POS_PRIVATE_KEY',
    BENCH_DSTORE_PUBLIC_KEY: keys.dstorePublic.export({ format: 'pem', type: 'spki' }).toString(),
    BENCH_POS_PRIVATE_KEY: keys.posPrivate.export({ format: 'pem', type: 'pkcs8' }).toString(),
    POS_CLIENT_ID: 'POS-BENCH',
    DSTORE_BASE_URL: 'http://127.0.0.1:9',
    RATE_LIMIT_PER_SECOND: '1000000',
    RATE_LIMIT_BURST: '1000000',
    SOURCE_RATE_LIMIT_PER_SECOND: '1000000',
    SOURCE_RATE_LIMIT_BURST: '1000000',
    ...extra,
  };
}
