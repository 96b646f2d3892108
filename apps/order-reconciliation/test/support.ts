import { constants, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { SecretResolver } from '@tillbus/config';
import { EVENT_SUBJECTS, orderSubjectToken } from '@tillbus/contracts';
import { type Clock, publishEvent, requestJson } from '@tillbus/messaging';
import type { RunningService } from '@tillbus/runtime';
import { freePort, spawnTypeScript, waitFor, type ChildService } from '@tillbus/testing';
import { DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { startOrderReconciliation } from '../src/app.module';
import { loadOrderReconciliationConfig, type OrderReconciliationConfig } from '../src/config';

/** Fresh key pairs for one suite: D-Store's and ours (never committed). */
export interface TestKeys {
  posPrivate: KeyObject;
  posPublic: KeyObject;
  dstorePrivate: KeyObject;
  dstorePublic: KeyObject;
  pem: { posPrivate: string; posPublic: string; dstorePrivate: string; dstorePublic: string };
}

export function generateKeys(): TestKeys {
  const pos = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const dstore = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = (key: KeyObject) =>
    key.type === 'private'
      ? key.export({ format: 'pem', type: 'pkcs8' }).toString()
      : key.export({ format: 'pem', type: 'spki' }).toString();
  return {
    posPrivate: pos.privateKey,
    posPublic: pos.publicKey,
    dstorePrivate: dstore.privateKey,
    dstorePublic: dstore.publicKey,
    pem: {
      posPrivate: pem(pos.privateKey),
      posPublic: pem(pos.publicKey),
      dstorePrivate: pem(dstore.privateKey),
      dstorePublic: pem(dstore.publicKey),
    },
  };
}

export const DSTORE_CLIENT = 'DSTORE-TEST-1';
export const DSTORE_CLIENT_2 = 'DSTORE-TEST-2';
export const POS_CLIENT = 'POS-TEST';

/** The environment of a test service; keys come by reference (env:), as in production. */
export function serviceEnv(
  keys: TestKeys,
  natsUrl: string,
  httpPort: number,
  dstoreUrl: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    NATS_URL: natsUrl,
    OPS_PORT: '0',
    HTTP_PORT: String(httpPort),
    HTTP_HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    DSTORE_CLIENT_IDS: `${DSTORE_CLIENT},${DSTORE_CLIENT_2}`,
    DSTORE_PUBLIC_KEY_REF: 'env:TEST_DSTORE_PUBLIC_KEY',
    POS_PRIVATE_KEY_REF: 'env:TEST_POS_PRIVATE_KEY',
    POS_CLIENT_ID: POS_CLIENT,
    DSTORE_BASE_URL: dstoreUrl,
    TEST_DSTORE_PUBLIC_KEY: keys.pem.dstorePublic,
    TEST_POS_PRIVATE_KEY: keys.pem.posPrivate,
    NOTIFY_TIMEOUT_MS: '1500',
    NOTIFY_BASE_DELAY_MS: '50',
    NOTIFY_MAX_DELAY_MS: '200',
    NOTIFY_JITTER_RATIO: '0',
    NOTIFY_MAX_ATTEMPTS: '4',
    OUTBOX_ACK_WAIT_MS: '3000',
    EVENTS_ACK_WAIT_MS: '3000',
    SHUTDOWN_GRACE_MS: '2000',
    ...extra,
  };
}

export interface InProcessService {
  running: RunningService;
  config: OrderReconciliationConfig;
  url: string;
  logs: string[];
  close(): Promise<void>;
}

/** The service in this process, as startService runs it in production. */
export async function startInProcess(
  env: Record<string, string>,
  clock?: Clock,
): Promise<InProcessService> {
  const config = loadOrderReconciliationConfig({ NATS_PROVISIONING: 'apply', ...env });
  const logs: string[] = [];
  const running = await startOrderReconciliation({
    config,
    secrets: new SecretResolver({ env }),
    ...(clock ? { clock } : {}),
    logWrite: (line) => logs.push(line),
  });
  return {
    running,
    config,
    url: `http://127.0.0.1:${running.httpPort}`,
    logs,
    close: () => running.close(),
  };
}

// ---- The D-Store side, written straight from protocols.md §2 (not with the protocol lib) ----

/** `Signature: algorithm=RSA256,keyVersion=1,signature=<URL-encoded Base64 of SHA256withRSA>` */
export function dstoreSignature(
  key: KeyObject,
  method: string,
  path: string,
  clientId: string,
  time: string,
  body: Buffer,
): string {
  const content = Buffer.concat([
    Buffer.from(`${method} ${path}\n${clientId}.${time}.`, 'utf8'),
    body,
  ]);
  const signature = sign('sha256', content, { key, padding: constants.RSA_PKCS1_PADDING });
  return `algorithm=RSA256,keyVersion=1,signature=${encodeURIComponent(signature.toString('base64'))}`;
}

export interface Answer {
  /** The Signature header this request carried (for checking it never reaches a log). */
  sentSignature?: string;
  status: number;
  headers: Headers;
  raw: Buffer;
  body: {
    result: { resultStatus: string; resultCode: string; resultMessage: string };
    posOrderId?: string;
    orderStatus?: string;
    extendInfo?: unknown;
  };
}

export interface SendOptions {
  method?: string;
  clientId?: string;
  time?: string;
  /** Sign this path instead of the one sent. */
  signPath?: string;
  signClientId?: string;
  signTime?: string;
  /** Sign these bytes instead of the ones sent. */
  signBody?: Buffer;
  signature?: string | null;
  headers?: Record<string, string>;
  key?: KeyObject;
}

/** Sends a D-Store request to the edge, signed by hand; every part can be tampered with independently. */
export async function sendSigned(
  base: string,
  keys: TestKeys,
  path: string,
  body: Buffer | string | object,
  options: SendOptions = {},
): Promise<Answer> {
  const raw = Buffer.isBuffer(body)
    ? body
    : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
  const method = options.method ?? 'POST';
  const bodySent = method === 'GET' || method === 'HEAD' ? Buffer.alloc(0) : raw;
  const clientId = options.clientId ?? DSTORE_CLIENT;
  const time = options.time ?? String(Date.now());
  const signature =
    options.signature === undefined
      ? dstoreSignature(
          options.key ?? keys.dstorePrivate,
          method === 'POST' ? 'POST' : method,
          options.signPath ?? path,
          options.signClientId ?? clientId,
          options.signTime ?? time,
          options.signBody ?? bodySent,
        )
      : options.signature;
  const headers: Record<string, string> = {
    'Content-Type': 'application/json; charset=UTF-8',
    'Client-Id': clientId,
    'Request-Time': time,
    ...(signature === null ? {} : { Signature: signature }),
    ...(options.headers ?? {}),
  };
  if (options.clientId === '') delete headers['Client-Id'];
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(method === 'GET' || method === 'HEAD' ? {} : { body: raw }),
  });
  const answerRaw = Buffer.from(await response.arrayBuffer());
  return {
    ...(signature === null ? {} : { sentSignature: signature }),
    status: response.status,
    headers: response.headers,
    raw: answerRaw,
    body: answerRaw.length > 0 ? JSON.parse(answerRaw.toString('utf8')) : undefined,
  } as Answer;
}

/** Our answer's signature, checked by hand: `<METHOD> <path>\n<Client-Id>.<Response-Time>.<raw body>`. */
export function answerSignatureValid(
  answer: Answer,
  posPublic: KeyObject,
  method: string,
  path: string,
  clientId: string,
): boolean {
  const time = answer.headers.get('response-time');
  const header = answer.headers.get('signature');
  if (!time || !header) return false;
  const match = /signature=([^,]+)/.exec(header);
  if (!match) return false;
  const signature = Buffer.from(decodeURIComponent(match[1]), 'base64');
  const content = Buffer.concat([
    Buffer.from(`${method} ${path}\n${clientId}.${time}.`, 'utf8'),
    answer.raw,
  ]);
  return verify(
    'sha256',
    content,
    { key: posPublic, padding: constants.RSA_PKCS1_PADDING },
    signature,
  );
}

export function sampleOrder(requestOrderId: string, overrides: Record<string, unknown> = {}) {
  return {
    orderChannel: 'GRABFOOD',
    serviceType: 'DELIVERY',
    requestOrderId,
    posAccountId: 'acct-1',
    posStoreId: 'store-7',
    channelOrderId: `ch-${requestOrderId.slice(0, 40)}`,
    expectFulfillmentTime: '2026-12-07T12:30:00+09:00',
    orderProducts: [{ sku: 'latte', qty: 2, options: { milk: 'oat' } }],
    orderAmount: { value: 9800, currency: 'KRW' },
    ...overrides,
  };
}

// ---- The bus side ----

export async function busClient(natsUrl: string): Promise<NatsConnection> {
  return connect({ servers: natsUrl, name: 'test-client' });
}

export function busRequest<T>(nc: NatsConnection, subject: string, payload: unknown): Promise<T> {
  return requestJson<T>({ connect: async () => nc }, subject, payload, { timeoutMs: 5000 });
}

/** Every message on `subject` in `stream` so far (a throwaway consumer, deleted afterwards). */
export async function readStream(
  nc: NatsConnection,
  stream: string,
  subject: string,
): Promise<JsMsg[]> {
  const jsm = await jetstreamManager(nc);
  const name = `reader-${Math.random().toString(36).slice(2)}`;
  await jsm.consumers.add(stream, {
    durable_name: name,
    filter_subject: subject,
    deliver_policy: DeliverPolicy.All,
  });
  const consumer = await jetstream(nc).consumers.get(stream, name);
  const out: JsMsg[] = [];
  const batch = await consumer.fetch({ max_messages: 1000, expires: 1000 });
  for await (const m of batch) {
    out.push(m);
    m.ack();
  }
  await jsm.consumers.delete(stream, name);
  return out;
}

/** What the POS publishes when an order moves. */
export async function publishLifecycle(
  nc: NatsConnection,
  kind: string,
  requestOrderId: string,
  body: Record<string, unknown> = {},
): Promise<void> {
  await publishEvent(jetstream(nc), EVENT_SUBJECTS.order(kind, orderSubjectToken(requestOrderId)), {
    requestOrderId,
    ...body,
  });
}

// ---- The D-Store simulator, run as its own process (apps never import each other) ----

export interface SimProcess {
  url: string;
  child: ArgsChild;
  keysDir: string;
  control<T = unknown>(path: string, body?: unknown): Promise<T>;
  state(): Promise<SimState>;
  close(): Promise<void>;
}

export interface SimState {
  counters: Record<string, number>;
  received: Array<{
    requestId?: string;
    requestOrderId?: string;
    orderStatus?: string;
    verified: boolean;
    answer: string;
    duplicate: boolean;
    reason?: string;
  }>;
  effects: Array<{ requestId: string; requestOrderId: string; orderStatus: string }>;
  beliefs: Record<string, string>;
}

const SIMULATORS_MAIN = join(__dirname, '../../simulators/src/main.ts');

export function writeSimKeys(keys: TestKeys): string {
  const dir = mkdtempSync(join(tmpdir(), 'tillbus-dstore-keys-'));
  writeFileSync(join(dir, 'dstore-private.pem'), keys.pem.dstorePrivate, { mode: 0o600 });
  writeFileSync(join(dir, 'dstore-public.pem'), keys.pem.dstorePublic);
  writeFileSync(join(dir, 'pos-private.pem'), keys.pem.posPrivate, { mode: 0o600 });
  writeFileSync(join(dir, 'pos-public.pem'), keys.pem.posPublic);
  return dir;
}

export async function startSimProcess(
  keys: TestKeys,
  posPort: number,
  args: string[] = [],
): Promise<SimProcess> {
  const keysDir = writeSimKeys(keys);
  const port = await freePort();
  const child = spawnTypeScript(SIMULATORS_MAIN, {}, [
    'dstore',
    '--port',
    String(port),
    '--pos-url',
    `http://127.0.0.1:${posPort}`,
    '--client-id',
    DSTORE_CLIENT,
    '--pos-client-id',
    POS_CLIENT,
    '--keys-dir',
    keysDir,
    ...args,
  ]);
  await child.waitForOutput(/dstore: notifyOrderChange at/, 60_000);
  const url = `http://127.0.0.1:${port}`;
  const control = async <T>(path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${url}${path}`, {
      method: body === undefined && path === '/_sim/state' ? 'GET' : 'POST',
      ...(body === undefined && path === '/_sim/state'
        ? {}
        : { body: JSON.stringify(body ?? {}), headers: { 'content-type': 'application/json' } }),
    });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`${path}: ${response.status} ${text}`);
    return JSON.parse(text) as T;
  };
  return {
    url,
    child,
    keysDir,
    control,
    state: () => control<SimState>('/_sim/state'),
    close: async () => {
      child.kill('SIGTERM');
      await child.exited;
      cleanup(keysDir);
    },
  };
}

export type ArgsChild = ChildService;

export async function waitForState(
  sim: SimProcess,
  predicate: (state: SimState) => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<SimState> {
  return waitFor(
    async () => {
      const state = await sim.state();
      return predicate(state) ? state : undefined;
    },
    { what, timeoutMs, intervalMs: 50 },
  );
}

export function cleanup(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
