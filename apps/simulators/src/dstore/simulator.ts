import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ANTOM_PATHS,
  DSTORE_CODE_FOR_SIGNATURE_FAILURE,
  InMemoryReplayGuard,
  loadPrivateKey,
  loadPublicKey,
  parseNotifyOrderChangeRequest,
  signRequest,
  signResponse,
  verifyRequest,
  verifyResponse,
  type AntomKeyInput,
  type CreateOrderRequest,
  type PushOrderChangeRequest,
} from '@tillbus/protocols-antom';
import { DSTORE_RESULT_CODES, dstoreResult, isDStoreResultCode } from '@tillbus/result-codes';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { answerControl, controlSegments } from '../shared/control';
import { parseJsonBody, sendJson, withBody } from '../shared/http-body';
import { listen } from '../shared/http-server';
import {
  BuyerViews,
  type BuyerView,
  deliveryOnlyPush,
  itemEditPush,
  sampleOrder,
  withUnseenFields,
  type SampleOrderKind,
} from './orders';

const CONTROL_PREFIX = '/_sim/';

/**
 * How the simulator answers one verified notifyOrderChange:
 * - `S` accepts it (the effect is applied once per requestId, as D-Store de-duplicates);
 * - `F` / `U` refuse it with PROCESS_FAIL / UNKNOWN_EXCEPTION, or `F:<CODE>` / `U:<CODE>` with any code;
 * - `DROP` closes the connection without an answer (the request was lost, nothing applied).
 */
export type NotifyAnswer = 'S' | 'F' | 'U' | 'DROP' | `F:${string}` | `U:${string}`;

export interface DStoreFaults {
  /** Answers used one per verified notifyOrderChange, in order; when empty, `defaultAnswer`. */
  script: NotifyAnswer[];
  defaultAnswer: NotifyAnswer;
  /** Orders whose next notification is dropped (the lost-notification scenario arms this). */
  dropNextFor: string[];
  /** Wait before reading a notification (the request is late). */
  delayMs: number;
  /** Wait after applying a notification, before answering (a slow answer). */
  slowMs: number;
  /** Apply notifications but keep every answer until release() (a kill can then land mid-flight). */
  hold: boolean;
  /** Extra copies of every call D-Store makes (each signed afresh, as a retry would be). */
  duplicates: number;
  /** Sign answers with a key the POS does not know. */
  badSignature: boolean;
  /** Add fields the project has never seen to every message D-Store sends: its calls and its answers. */
  unseenFields: boolean;
}

export const DEFAULT_FAULTS: DStoreFaults = {
  script: [],
  defaultAnswer: 'S',
  dropNextFor: [],
  delayMs: 0,
  slowMs: 0,
  hold: false,
  duplicates: 0,
  badSignature: false,
  unseenFields: false,
};

export interface ReceivedNotification {
  at: string;
  requestId?: string;
  requestOrderId?: string;
  orderStatus?: string;
  /** The signature (and Client-Id) verified. */
  verified: boolean;
  /** Why it was refused, when it was. */
  reason?: string;
  /** `S`, `F:<CODE>`, `U:<CODE>`, `DROP`, or `S (held)` while an answer is held. */
  answer: string;
  /** Its requestId had been applied before: no new effect. */
  duplicate: boolean;
}

export interface AppliedEffect {
  requestId: string;
  requestOrderId: string;
  /** Only what the notification changed. */
  orderStatus?: string;
  shortOrderNumber?: string;
  deliveryStatus?: string;
  refundAmount?: { value: number; currency: string };
  orderReadyTime?: string;
  at: string;
}

export interface DStoreCounters {
  received: number;
  verified: number;
  rejected: number;
  effects: number;
  duplicates: number;
  dropped: number;
  held: number;
  answeredU: number;
  answeredF: number;
  callsSent: number;
}

export interface CallResult {
  httpStatus: number;
  headers: Record<string, string>;
  rawBody: string;
  body: unknown;
  result?: { resultStatus: string; resultCode?: string; resultMessage?: string };
  /** Our check of the POS's answer signature. */
  signature: { ok: true } | { ok: false; reason: string };
  /** The answers to the duplicate copies, when `duplicates` > 0. */
  copies: CallResult[];
}

export interface CallOptions {
  /** Headers to add or replace after signing (to tamper with the request). */
  headers?: Record<string, string>;
  /** Headers to leave out. */
  omit?: string[];
  /** Send these bytes instead of the signed body (the signature still covers the signed body). */
  sendBody?: string | Buffer;
  /** Request-Time to sign with (epoch ms); default now. */
  requestTime?: number;
  method?: string;
  duplicates?: number;
}

export interface DStoreSimulatorOptions {
  port?: number;
  host?: string;
  /** Base URL of the POS edge D-Store calls (createOrder, pushOrderChange, inquireOrderDetail). */
  posUrl?: string;
  /** The Client-Id D-Store uses when calling the POS. */
  clientId: string;
  /** D-Store's private key: signs its calls and its answers. */
  privateKey: AntomKeyInput;
  /** The POS provider's public key: verifies notifyOrderChange and the POS's answers. */
  posPublicKey: AntomKeyInput;
  /** The Client-Id the POS must send on notifyOrderChange; any when omitted. */
  posClientId?: string;
  maxSkewMs?: number;
  faults?: Partial<DStoreFaults>;
  now?: () => number;
}

export interface LostNotificationReport {
  dropped: ReceivedNotification;
  inquiry: CallResult;
  /** D-Store learned by inquiry the status the dropped notification carried. */
  consistent: boolean;
}

export interface DStoreSimulator {
  url: string;
  port: number;
  readonly faults: DStoreFaults;
  setFaults(faults: Partial<DStoreFaults>): DStoreFaults;
  /** Sends every held answer; returns how many. */
  release(): number;
  readonly received: readonly ReceivedNotification[];
  /** The effects D-Store applied, at most one per requestId. */
  readonly effects: ReadonlyMap<string, AppliedEffect>;
  readonly counters: DStoreCounters;
  /** The status D-Store believes an order has, from the notifications it applied. */
  belief(requestOrderId: string): string | undefined;
  /** What the buyer sees: status, pickup code, delivery status, paid and refunded totals. */
  buyer(requestOrderId: string): BuyerView | undefined;
  createOrder(
    body: CreateOrderRequest | Record<string, unknown>,
    options?: CallOptions,
  ): Promise<CallResult>;
  pushOrderChange(
    body: PushOrderChangeRequest | Record<string, unknown>,
    options?: CallOptions,
  ): Promise<CallResult>;
  inquireOrderDetail(requestOrderId: string, options?: CallOptions): Promise<CallResult>;
  /** Any signed call to the POS edge. */
  call(path: string, body: unknown, options?: CallOptions): Promise<CallResult>;
  /** Drops the order's next notification, then inquires and compares. */
  lostNotification(requestOrderId: string, timeoutMs?: number): Promise<LostNotificationReport>;
  reset(): void;
  close(): Promise<void>;
}

/**
 * The D-Store cloud: it calls the POS edge with signed createOrder, pushOrderChange and inquireOrderDetail
 * requests, and receives notifyOrderChange, verifies its signature and answers by script. See README.md.
 */
export async function startDStoreSimulator(
  options: DStoreSimulatorOptions,
): Promise<DStoreSimulator> {
  const now = options.now ?? Date.now;
  const privateKey = loadPrivateKey(options.privateKey);
  const posPublicKey = loadPublicKey(options.posPublicKey);
  const strangerKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const maxSkewMs = options.maxSkewMs ?? 5 * 60_000;
  const replayGuard = new InMemoryReplayGuard({ now });
  const faults: DStoreFaults = {
    ...DEFAULT_FAULTS,
    ...options.faults,
    script: [...(options.faults?.script ?? [])],
    dropNextFor: [...(options.faults?.dropNextFor ?? [])],
  };
  checkFaults(faults);
  const received: ReceivedNotification[] = [];
  const effects = new Map<string, AppliedEffect>();
  const beliefs = new Map<string, string>();
  const buyers = new BuyerViews();
  const counters: DStoreCounters = emptyCounters();
  const held = new Set<() => void>();
  const waiters = new Set<() => void>();
  const changed = () => waiters.forEach((wake) => wake());

  const answerKey = (): KeyObject => (faults.badSignature ? strangerKey : privateKey);

  function respond(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): void {
    const sent = faults.unseenFields ? withUnseenFields(body) : body;
    const raw = Buffer.from(JSON.stringify(sent), 'utf8');
    const clientId = headerOf(req, 'client-id') ?? options.posClientId ?? 'unknown';
    const signed = signResponse({
      path: req.url ?? '/',
      clientId,
      body: raw,
      privateKey: answerKey(),
      responseTime: now(),
    });
    res.writeHead(status, { ...signed, 'content-length': raw.length });
    res.end(raw);
  }

  async function onNotify(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
    counters.received++;
    const record: ReceivedNotification = {
      at: new Date(now()).toISOString(),
      verified: false,
      answer: '',
      duplicate: false,
    };
    received.push(record);
    if (faults.delayMs > 0) await sleep(faults.delayMs);
    const verification = await verifyRequest({
      path: req.url ?? ANTOM_PATHS.NOTIFY_ORDER_CHANGE,
      headers: req.headers,
      rawBody: raw,
      publicKey: posPublicKey,
      now: now(),
      maxSkewMs,
      replayGuard,
      ...(options.posClientId === undefined ? {} : { expectedClientId: options.posClientId }),
    });
    if (!verification.ok) {
      counters.rejected++;
      record.reason = verification.reason;
      const code = DSTORE_CODE_FOR_SIGNATURE_FAILURE[verification.reason];
      record.answer = `F:${code}`;
      changed();
      return respond(req, res, 200, { result: dstoreResult(code, verification.message) });
    }
    let request;
    try {
      request = parseNotifyOrderChangeRequest(raw, { unknownFields: 'forbid' });
    } catch (error) {
      counters.rejected++;
      record.reason = (error as Error).message;
      record.answer = 'F:PARAM_ILLEGAL';
      changed();
      return respond(req, res, 200, {
        result: dstoreResult('PARAM_ILLEGAL', (error as Error).message.slice(0, 256)),
      });
    }
    counters.verified++;
    Object.assign(record, {
      verified: true,
      requestId: request.requestId,
      requestOrderId: request.requestOrderId,
      ...(request.orderStatus === undefined ? {} : { orderStatus: request.orderStatus }),
    });
    const dropIndex = faults.dropNextFor.indexOf(request.requestOrderId);
    let planned: NotifyAnswer;
    if (dropIndex >= 0) {
      faults.dropNextFor.splice(dropIndex, 1);
      planned = 'DROP';
    } else {
      planned = faults.script.shift() ?? faults.defaultAnswer;
    }
    if (planned === 'DROP') {
      counters.dropped++;
      record.answer = 'DROP';
      changed();
      res.socket?.destroy();
      return;
    }
    const change = { ...request };
    // A strict D-Store refuses a refund beyond what the buyer paid minus earlier refunds (a repeat is not a refund).
    const refused = effects.has(request.requestId) ? undefined : buyers.refusal(change);
    const { status, code } =
      planned === 'S' && refused
        ? readAnswer('F')
        : readAnswer(planned as Exclude<NotifyAnswer, 'DROP'>);
    if (refused) record.reason = refused;
    if (status === 'S') {
      if (effects.has(request.requestId)) {
        record.duplicate = true;
        counters.duplicates++;
      } else {
        counters.effects++;
        effects.set(request.requestId, { ...change, at: record.at });
        buyers.apply(change);
        if (request.orderStatus !== undefined)
          beliefs.set(request.requestOrderId, request.orderStatus);
      }
    } else if (status === 'U') counters.answeredU++;
    else counters.answeredF++;
    record.answer = status === 'S' ? 'S' : `${status}:${code}`;
    const send = () => respond(req, res, 200, { result: dstoreResult(code) });
    if (faults.hold) {
      counters.held++;
      record.answer = `${record.answer} (held)`;
      changed();
      await new Promise<void>((release) => {
        const go = () => {
          held.delete(go);
          release();
        };
        held.add(go);
        res.once('close', go);
      });
      if (!res.writableEnded && !res.socket?.destroyed) send();
      return;
    }
    changed();
    if (faults.slowMs > 0) await sleep(faults.slowMs);
    if (!res.socket?.destroyed) send();
  }

  function onControl(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
    const path = controlSegments(req.url, CONTROL_PREFIX).join('/');
    return answerControl(req, res, 'apps/simulators/src/dstore/README.md', async () => {
      const input = parseJsonBody(raw) as Record<string, unknown>;
      if (req.method === 'GET' && path === 'state') return sendJson(res, 200, state());
      if (req.method === 'GET' && path.startsWith('buyer/')) {
        const view = buyers.get(decodeURIComponent(path.slice('buyer/'.length)));
        return view ? sendJson(res, 200, view) : sendJson(res, 404, { error: 'no such order' });
      }
      if (req.method !== 'POST')
        return sendJson(res, 405, { error: 'use GET /_sim/state or POST' });
      switch (path) {
        case 'faults':
          return sendJson(res, 200, simulator.setFaults(input as Partial<DStoreFaults>));
        case 'release':
          return sendJson(res, 200, { released: simulator.release() });
        case 'reset':
          simulator.reset();
          return sendJson(res, 200, state());
        case 'createOrder':
          return sendJson(res, 200, await simulator.createOrder(input));
        case 'pushOrderChange':
          return sendJson(res, 200, await simulator.pushOrderChange(input));
        case 'order':
          return sendJson(
            res,
            200,
            await simulator.createOrder(
              sampleOrder(requiredId(input.requestOrderId), orderKind(input.serviceType)),
            ),
          );
        case 'push-delivery':
          return sendJson(
            res,
            200,
            await simulator.pushOrderChange(
              deliveryOnlyPush(
                requiredId(input.requestOrderId),
                optionalId(input.requestId) ?? `sim-push-${++pushes}`,
                optionalId(input.deliveryStatus),
              ),
            ),
          );
        case 'push-items':
          return sendJson(
            res,
            200,
            await simulator.pushOrderChange(
              itemEditPush(
                requiredId(input.requestOrderId),
                optionalId(input.requestId) ?? `sim-push-${++pushes}`,
              ),
            ),
          );
        case 'inquireOrderDetail':
          return sendJson(
            res,
            200,
            await simulator.inquireOrderDetail(String(input.requestOrderId ?? '')),
          );
        case 'lost-notification':
          return sendJson(
            res,
            200,
            await simulator.lostNotification(
              String(input.requestOrderId ?? ''),
              typeof input.timeoutMs === 'number' ? input.timeoutMs : undefined,
            ),
          );
      }
    });
  }

  let pushes = 0;
  const state = () => ({
    faults,
    counters,
    received: received.slice(-200),
    effects: [...effects.values()],
    beliefs: Object.fromEntries(beliefs),
    buyers: buyers.all(),
  });

  const server = createServer(
    // No body limit: D-Store reads whatever the POS edge sends it.
    withBody(
      {
        maxBytes: Number.POSITIVE_INFINITY,
        onError(req, res, error) {
          if (!res.headersSent && !res.destroyed)
            respond(req, res, 200, {
              result: dstoreResult(
                'UNKNOWN_EXCEPTION',
                String((error as Error).message).slice(0, 200),
              ),
            });
        },
      },
      (req, res, raw) => {
        const path = (req.url ?? '/').split('?')[0];
        if (path.startsWith(CONTROL_PREFIX)) return onControl(req, res, raw);
        if (path !== ANTOM_PATHS.NOTIFY_ORDER_CHANGE) {
          return respond(req, res, 200, {
            result: dstoreResult('INVALID_API', `no D-Store API at ${path.slice(0, 80)}`),
          });
        }
        if (req.method !== 'POST') {
          return respond(req, res, 405, {
            result: dstoreResult('INVALID_API', `${req.method} is not supported: use POST`),
          });
        }
        return onNotify(req, res, raw);
      },
    ),
  );
  const listening = await listen(server, options);
  const port = listening.port;
  const host = options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1';

  async function callOnce(
    path: string,
    body: unknown,
    callOptions: CallOptions,
  ): Promise<CallResult> {
    if (!options.posUrl)
      throw new Error('posUrl is not configured: the simulator cannot call the POS');
    counters.callsSent++;
    if (path === ANTOM_PATHS.CREATE_ORDER) buyers.ordered(body);
    const sent = faults.unseenFields ? withUnseenFields(body) : body;
    const raw = Buffer.from(typeof sent === 'string' ? sent : JSON.stringify(sent), 'utf8');
    const signed: Record<string, string> = signRequest({
      path,
      clientId: options.clientId,
      body: raw,
      privateKey,
      requestTime: callOptions.requestTime ?? now(),
    });
    for (const name of callOptions.omit ?? []) {
      for (const key of Object.keys(signed))
        if (key.toLowerCase() === name.toLowerCase()) delete signed[key];
    }
    const headers = { ...signed, ...(callOptions.headers ?? {}) };
    const response = await fetch(`${options.posUrl.replace(/\/+$/, '')}${path}`, {
      method: callOptions.method ?? 'POST',
      headers,
      ...(callOptions.method === 'GET' || callOptions.method === 'HEAD'
        ? {}
        : { body: callOptions.sendBody ?? raw }),
    });
    const rawBody = Buffer.from(await response.arrayBuffer());
    const verification = await verifyResponse({
      path,
      headers: response.headers,
      rawBody,
      publicKey: posPublicKey,
      now: now(),
      maxSkewMs,
      clientId: headers['Client-Id'] ?? headers['client-id'] ?? options.clientId,
    });
    let parsed: unknown;
    try {
      parsed = JSON.parse(rawBody.toString('utf8'));
    } catch {
      parsed = undefined;
    }
    const result = (parsed as { result?: CallResult['result'] } | undefined)?.result;
    return {
      httpStatus: response.status,
      headers: Object.fromEntries(response.headers.entries()),
      rawBody: rawBody.toString('utf8'),
      body: parsed,
      ...(result === undefined ? {} : { result }),
      signature: verification.ok ? { ok: true } : { ok: false, reason: verification.reason },
      copies: [],
    };
  }

  async function call(
    path: string,
    body: unknown,
    callOptions: CallOptions = {},
  ): Promise<CallResult> {
    const first = await callOnce(path, body, callOptions);
    const copies = callOptions.duplicates ?? faults.duplicates;
    for (let i = 0; i < copies; i++) first.copies.push(await callOnce(path, body, callOptions));
    return first;
  }

  const simulator: DStoreSimulator = {
    url: `http://${host}:${port}`,
    port,
    faults,
    setFaults(partial) {
      for (const key of Object.keys(partial ?? {}))
        if (!(key in DEFAULT_FAULTS)) throw new Error(`unknown fault ${key}`);
      // Checked as a whole before anything changes, so a bad request leaves the faults as they were.
      const next = { ...faults, ...partial };
      checkFaults(next);
      Object.assign(faults, next, {
        script: [...next.script],
        dropNextFor: [...next.dropNextFor],
      });
      return faults;
    },
    release() {
      const all = [...held];
      all.forEach((go) => go());
      return all.length;
    },
    received,
    effects,
    counters,
    belief: (requestOrderId) => beliefs.get(requestOrderId),
    buyer: (requestOrderId) => buyers.get(requestOrderId),
    createOrder: (body, callOptions) => call(ANTOM_PATHS.CREATE_ORDER, body, callOptions),
    pushOrderChange: (body, callOptions) => call(ANTOM_PATHS.PUSH_ORDER_CHANGE, body, callOptions),
    inquireOrderDetail: (requestOrderId, callOptions) =>
      call(ANTOM_PATHS.INQUIRE_ORDER_DETAIL, { requestOrderId }, callOptions),
    call,
    async lostNotification(requestOrderId, timeoutMs = 30_000) {
      if (!requestOrderId) throw new Error('requestOrderId is required');
      const from = received.length;
      faults.dropNextFor.push(requestOrderId);
      const dropped = await waitUntil(
        () =>
          received
            .slice(from)
            .find((r) => r.requestOrderId === requestOrderId && r.answer === 'DROP'),
        timeoutMs,
        `a notification for ${requestOrderId} to drop`,
      );
      const inquiry = await simulator.inquireOrderDetail(requestOrderId, { duplicates: 0 });
      const answered = inquiry.body as { orderStatus?: string } | undefined;
      return {
        dropped,
        inquiry,
        consistent:
          inquiry.signature.ok &&
          inquiry.result?.resultStatus === 'S' &&
          answered?.orderStatus === dropped.orderStatus,
      };
    },
    reset() {
      Object.assign(faults, { ...DEFAULT_FAULTS, script: [], dropNextFor: [] });
      received.length = 0;
      effects.clear();
      beliefs.clear();
      buyers.clear();
      Object.assign(counters, emptyCounters());
    },
    async close() {
      simulator.release();
      await listening.close();
    },
  };

  function waitUntil<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = () => {
        const value = probe();
        if (value === undefined) return;
        cleanup();
        resolve(value);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  }

  return simulator;
}

/** `S`, `F`, `U`, `F:<CODE>`, `U:<CODE>` as a result status and code. */
export function readAnswer(answer: Exclude<NotifyAnswer, 'DROP'>): {
  status: 'S' | 'F' | 'U';
  code: keyof typeof DSTORE_RESULT_CODES;
} {
  if (answer === 'S') return { status: 'S', code: 'SUCCESS' };
  if (answer === 'F') return { status: 'F', code: 'PROCESS_FAIL' };
  if (answer === 'U') return { status: 'U', code: 'UNKNOWN_EXCEPTION' };
  const [status, code] = answer.split(':');
  if ((status !== 'F' && status !== 'U') || !isDStoreResultCode(code))
    throw new Error(`unknown answer ${answer}: use S, F, U, DROP, F:<CODE> or U:<CODE>`);
  return { status, code };
}

function requiredId(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0)
    throw new Error('requestOrderId is required');
  return value;
}

function optionalId(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0)
    throw new Error('requestId and deliveryStatus must be non-empty strings when given');
  return value;
}

function orderKind(value: unknown): SampleOrderKind {
  if (value === undefined || value === 'DELIVERY') return 'DELIVERY';
  if (value === 'PICKUP') return 'PICKUP';
  throw new Error('serviceType must be DELIVERY or PICKUP');
}

/** Throws a readable error for a fault that cannot work. */
export function checkFaults(faults: DStoreFaults): void {
  for (const answer of [...faults.script, faults.defaultAnswer]) {
    if (answer !== 'DROP') readAnswer(answer);
  }
  for (const key of ['delayMs', 'slowMs', 'duplicates'] as const) {
    const value = faults[key];
    if (!Number.isInteger(value) || value < 0 || value > 600_000)
      throw new Error(`${key} must be an integer from 0 to 600000`);
  }
  if (!Array.isArray(faults.dropNextFor) || faults.dropNextFor.some((id) => typeof id !== 'string'))
    throw new Error('dropNextFor must be a list of requestOrderIds');
  for (const key of ['hold', 'badSignature', 'unseenFields'] as const)
    if (typeof faults[key] !== 'boolean') throw new Error(`${key} must be true or false`);
}

function emptyCounters(): DStoreCounters {
  return {
    received: 0,
    verified: 0,
    rejected: 0,
    effects: 0,
    duplicates: 0,
    dropped: 0,
    held: 0,
    answeredU: 0,
    answeredF: 0,
    callsSent: 0,
  };
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
