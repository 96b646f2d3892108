import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DEVICE_QUERY_DEVICE_ID,
  EASYCARD_METHOD,
  IntellaProtocolError,
  SERVER_STATUS_FOR_PROTOCOL_ERROR,
  buildPlainResponse,
  formatCreateTime,
  loadIntellaPrivateKey,
  parseEasyCardRequestData,
  parsePlainRequest,
  redactIntella,
  tradeKeyMatches,
  type JsonObject,
} from '@tillbus/protocols-intella';
import { JsonLogger, type JsonLogLevel } from '@tillbus/observability';
import { answerControl, controlSegments } from '../shared/control';
import { parseJsonBody, sendJson, withBody } from '../shared/http-body';
import { listen } from '../shared/http-server';
import { createSimClock, type SimClock, type SimClockOptions } from './clock';
import { EnvelopeOpenError, openRequest, sealResponse } from './envelope-server';
import {
  FaultBook,
  FaultSpecError,
  INTELLA_UNKNOWN_VALUES,
  parseFaultSpec,
  type ActiveFault,
  type IntellaFaultSpec,
} from './faults';

/**
 * The sealed answer with every `=` written as the literal `\u003d`. Base64 of whole AES blocks ends in `=` unless
 * the block count is a multiple of 3, so Data.Padding grows by one block until there is one to escape.
 */
function escapedEquals(
  response: { Header: object; Data?: unknown },
  aesKey: Buffer,
  iv: string,
): string {
  let padding = '';
  for (;;) {
    const data = padding
      ? { ...(response.Data as object | undefined), Padding: padding }
      : response.Data;
    const sealed = sealResponse({ ...response, Data: data }, aesKey, iv).Response;
    if (sealed.includes('=')) return sealed.replace(/=/g, '\\u003d');
    padding += '0123456789abcdef';
  }
}

export const DEFAULT_INTELLA_PATH = '/allpaypass/api/general';
export const CONTROL_PREFIX = '/_control';
const TAIWAN_OFFSET_MS = 8 * 60 * 60 * 1000;
const MAX_BODY_BYTES = 256 * 1024;
const READER_ID = /^[A-Za-z0-9_-]{1,64}$/;

export interface SimMerchantOptions {
  mchId: string;
  /** The trade password; the TradeKey the client sends must be its lower-case hex SHA-256. */
  tradePassword: string;
  /** The 16-character IV intella hands this merchant; the simulator's default IV when absent. */
  iv?: string;
  /** Reader ids bound to the merchant (DeviceQuery lists them). */
  readers?: string[];
  /** Or: generate this many, `0130xxxx` style, numbered from `readerStart` (default 1). */
  readerCount?: number;
  readerStart?: number;
}

export type DeviceListFormat = 'objects' | 'strings' | 'json-text';

export interface IntellaSimulatorOptions {
  port?: number;
  host?: string;
  path?: string;
  merchants: SimMerchantOptions[];
  /** intella's RSA private key (PEM, Base64 PKCS#8 DER or KeyObject); generated (2048 bits) when absent. */
  privateKey?: string | KeyObject;
  /** Default IV for merchants without their own; random when absent. */
  iv?: string;
  /** The DeviceQuery Data field that lists the readers (undocumented; configurable on both sides). */
  deviceListField?: string;
  deviceListFormat?: DeviceListFormat;
  /** With the `objects` format, the field holding each reader's id. */
  deviceListIdField?: string;
  /** Answer 010117 to a reader whose earlier business day was not settled. */
  enforceSettlement?: boolean;
  faults?: IntellaFaultSpec[];
  clock?: SimClock | SimClockOptions;
  logLevel?: JsonLogLevel;
  logWrite?: (line: string) => void;
}

export interface SimReaderStats {
  deviceId: string;
  mchId: string;
  signOnRequests: number;
  signOns: number;
  settlementRequests: number;
  settlements: number;
  /** Requests that carried a Retry other than "0". */
  retries: number;
  lastSignOnAt?: number;
  lastSettledAt?: number;
}

export interface SimCounters {
  /** Every POST to the intella path. */
  requests: number;
  byServiceType: Record<string, number>;
  /** `StatusCode` or `StatusCode/ErrorCode` of every answer, plus `http-500`, `no-answer`, `corrupt`. */
  byAnswer: Record<string, number>;
  faultsApplied: Record<string, number>;
}

export interface IntellaSimulator {
  /** The intella endpoint (POST). */
  url: string;
  port: number;
  controlUrl: string;
  publicKeyPem: string;
  /** The IV of each merchant. */
  ivs: Record<string, string>;
  faults: {
    add(spec: IntellaFaultSpec): ActiveFault;
    remove(id: number): boolean;
    clear(): void;
    list(): ActiveFault[];
  };
  counters(): SimCounters;
  readers(): SimReaderStats[];
  reader(deviceId: string): SimReaderStats | undefined;
  /** Sum of SignOn requests over all readers. */
  signOnRequests(): number;
  /** Every NewAESKey handed out, per reader (a test scans logs and events for them). */
  issuedKeys(): Record<string, string[]>;
  addReader(mchId: string, deviceId: string): void;
  removeReader(deviceId: string): boolean;
  resetCounters(): void;
  close(): Promise<void>;
}

interface ReaderState extends SimReaderStats {
  keys: string[];
  /** Business day (yyyy-MM-dd, Taiwan) of the first work after the last settlement. */
  unsettledSince?: string;
}

interface MerchantState {
  mchId: string;
  tradePassword: string;
  iv: string;
}

class SimAnswer {
  constructor(
    readonly statusCode: string,
    readonly statusDesc: string,
    readonly data?: JsonObject,
  ) {}
}

export function generateReaderIds(count: number, start = 1): string[] {
  return Array.from({ length: count }, (_, i) => `0130${String(start + i).padStart(4, '0')}`);
}

/** yyyy-MM-dd of an instant in Taiwan time (UTC+8). */
export function taiwanDay(epochMs: number): string {
  return new Date(epochMs + TAIWAN_OFFSET_MS).toISOString().slice(0, 10);
}

function randomIv(): string {
  return randomBytes(12).toString('base64').replace(/[+/=]/g, 'x').slice(0, 16);
}

function checkIv(iv: string, what: string): string {
  if (Buffer.byteLength(iv, 'utf8') !== 16)
    throw new Error(`${what}: the IV must be 16 bytes (16 ASCII characters)`);
  return iv;
}

/** Starts an intella Scan2Pay EasyCard endpoint with its own RSA key pair and a control API. */
export async function startIntellaSimulator(
  options: IntellaSimulatorOptions,
): Promise<IntellaSimulator> {
  const clock: SimClock =
    typeof options.clock === 'function' ? options.clock : createSimClock(options.clock);
  const logger = new JsonLogger({
    service: 'intella-sim',
    level: options.logLevel ?? 'info',
    write: options.logWrite,
  });
  const privateKey = options.privateKey
    ? loadIntellaPrivateKey(options.privateKey)
    : generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const publicKeyPem = createPublicKey(privateKey)
    .export({ type: 'spki', format: 'pem' })
    .toString();
  const path = options.path ?? DEFAULT_INTELLA_PATH;
  const defaultIv = checkIv(options.iv ?? randomIv(), 'iv');
  const listField = options.deviceListField ?? 'DeviceList';
  const listFormat = options.deviceListFormat ?? 'objects';
  const listIdField = options.deviceListIdField ?? 'DeviceId';

  const merchants = new Map<string, MerchantState>();
  const readers = new Map<string, ReaderState>();
  const addReader = (mchId: string, deviceId: string) => {
    if (!merchants.has(mchId)) throw new Error(`unknown merchant ${mchId}`);
    if (!READER_ID.test(deviceId)) throw new Error(`reader id ${deviceId.slice(0, 64)} is invalid`);
    if (readers.has(deviceId)) throw new Error(`reader ${deviceId} already exists`);
    readers.set(deviceId, {
      deviceId,
      mchId,
      signOnRequests: 0,
      signOns: 0,
      settlementRequests: 0,
      settlements: 0,
      retries: 0,
      keys: [],
    });
  };
  for (const merchant of options.merchants) {
    if (merchants.has(merchant.mchId))
      throw new Error(`merchant ${merchant.mchId} is listed twice`);
    merchants.set(merchant.mchId, {
      mchId: merchant.mchId,
      tradePassword: merchant.tradePassword,
      iv: checkIv(merchant.iv ?? defaultIv, `merchant ${merchant.mchId}`),
    });
    const ids = [
      ...(merchant.readers ?? []),
      ...generateReaderIds(merchant.readerCount ?? 0, merchant.readerStart ?? 1),
    ];
    for (const id of ids) addReader(merchant.mchId, id);
  }
  const ivs = [...new Set([...merchants.values()].map((merchant) => merchant.iv))];

  const faults = new FaultBook();
  for (const spec of options.faults ?? []) faults.add(parseFaultSpec(spec));
  let counters: SimCounters = emptyCounters();
  const bump = (table: Record<string, number>, key: string) => {
    table[key] = (table[key] ?? 0) + 1;
  };

  const answer = (code: string, desc: string, data?: JsonObject) => new SimAnswer(code, desc, data);

  /** The EasyCard business logic, after the envelope is open and the merchant is known. */
  const serve = (
    serviceType: string,
    merchant: MerchantState,
    data: JsonObject,
    fault: ActiveFault | undefined,
  ): SimAnswer => {
    const now = clock();
    const deviceId = typeof data.DeviceId === 'string' ? data.DeviceId : undefined;
    const reader = deviceId ? readers.get(deviceId) : undefined;
    const retry = typeof data.Retry === 'string' ? data.Retry : '0';
    const easyCard = (errorCode: string, extra: JsonObject = {}) =>
      answer('0000', 'STATUS_SUCCESS', {
        TXNResult: errorCode === '000000' ? 'Success' : 'Fail',
        Retry: '0',
        ErrorCode: errorCode,
        ...extra,
      });
    switch (fault?.kind) {
      case 'bad-trade-key':
        return answer('7105', 'TradeKey error');
      case 'system-error':
        return answer('9995', 'system error');
      case 'unavailable':
        return answer('9999', 'service unavailable');
      case 'failed':
        return answer('9998', 'failed');
      case 'ongoing':
        return answer('9997', 'ongoing');
      case 'deactivated':
        return answer('7167', 'device deactivated');
      case 'retry':
        return easyCard('000125', { Retry: String(Number(retry) + 1) });
      case 'card-read-error':
        return easyCard('046201', { Retry: String(Number(retry) + 1) });
      case 'reader-in-use':
        return easyCard('900001');
      case 'dongle-mismatch':
        return easyCard('900002');
      case 'unsettled':
        return easyCard('010117');
      case 'unknown-status':
        return answer(INTELLA_UNKNOWN_VALUES.statusCode, 'a code this project does not know');
      default:
        break;
    }
    let parsedOk = true;
    try {
      if (serviceType === 'SignOn' || serviceType === 'DeviceQuery' || serviceType === 'Settlement')
        parseEasyCardRequestData(serviceType, data);
    } catch {
      parsedOk = false;
    }
    if (!parsedOk) return answer('9998', 'invalid Data');
    if (serviceType === 'DeviceQuery') {
      if (data.DeviceId !== DEVICE_QUERY_DEVICE_ID) return answer('9998', 'invalid Data');
      const ids = [...readers.values()]
        .filter((candidate) => candidate.mchId === merchant.mchId)
        .map((candidate) => candidate.deviceId);
      const list =
        listFormat === 'strings'
          ? ids
          : listFormat === 'json-text'
            ? JSON.stringify(ids.map((id) => ({ [listIdField]: id })))
            : ids.map((id) => ({ [listIdField]: id }));
      return easyCard('000000', { [listField]: list });
    }
    if (serviceType !== 'SignOn' && serviceType !== 'Settlement') {
      return answer('9998', `ServiceType ${serviceType.slice(0, 32)} is not simulated`);
    }
    if (!reader || reader.mchId !== merchant.mchId) return answer('9998', 'unknown device');
    const today = taiwanDay(now);
    if (serviceType === 'Settlement') {
      reader.settlements++;
      reader.lastSettledAt = now;
      reader.unsettledSince = undefined;
      return easyCard('000000');
    }
    if (options.enforceSettlement && reader.unsettledSince && reader.unsettledSince < today) {
      return easyCard('010117');
    }
    const key = randomBytes(16).toString('hex');
    reader.signOns++;
    reader.lastSignOnAt = now;
    reader.keys.push(key);
    reader.unsettledSince ??= today;
    return easyCard('000000', {
      DeviceID: derivedDeviceId(reader.deviceId),
      NewDeviceID: `08300000${reader.deviceId}`.slice(-16).padStart(16, '0'),
      DongleDeviceID: dongleId(reader.deviceId),
      NewAESKey: key,
    });
  };

  const plainHeader = (statusCode: string, statusDesc: string) => ({
    Header: {
      StatusCode: statusCode,
      StatusDesc: statusDesc,
      ResponseTime: formatCreateTime(new Date(clock())),
    },
  });

  const handleIntella = async (body: Buffer, res: ServerResponse): Promise<void> => {
    counters.requests++;
    let opened;
    try {
      opened = openRequest(body, privateKey, ivs, (plain, iv) => {
        const header = plain.Header as Record<string, unknown> | undefined;
        const mchId = typeof header?.MchId === 'string' ? header.MchId : undefined;
        const merchant = mchId ? merchants.get(mchId) : undefined;
        // an unknown merchant still gets an answer it can read, under the first IV that opens it
        return merchant ? merchant.iv === iv : true;
      });
    } catch (error) {
      const stage = error instanceof EnvelopeOpenError ? error.stage : 'ENVELOPE';
      logger.event('info', 'request could not be decrypted', { stage });
      bump(counters.byAnswer, '8003');
      return sendJson(res, 200, plainHeader('8003', 'decryption failed'));
    }
    const { plain, aesKey, iv } = opened;
    let request;
    try {
      request = parsePlainRequest(plain);
    } catch (error) {
      const code =
        error instanceof IntellaProtocolError
          ? SERVER_STATUS_FOR_PROTOCOL_ERROR[error.code]
          : '9998';
      bump(counters.byAnswer, code);
      return sendJson(res, 200, sealResponse(plainHeader(code, 'invalid request'), aesKey, iv));
    }
    const { header, data } = request;
    bump(counters.byServiceType, header.ServiceType);
    const deviceId = typeof data.DeviceId === 'string' ? data.DeviceId : undefined;
    logger.event('debug', 'request', { request: redactIntella({ Header: header, Data: data }) });
    const fault = faults.take({ serviceType: header.ServiceType, mchId: header.MchId, deviceId });
    if (fault) bump(counters.faultsApplied, fault.kind);
    // per-reader counts include every request that reached the simulator, faulted or not
    const target = deviceId ? readers.get(deviceId) : undefined;
    if (target && target.mchId === header.MchId) {
      if (header.ServiceType === 'SignOn') target.signOnRequests++;
      if (header.ServiceType === 'Settlement') target.settlementRequests++;
      if (data.Retry !== undefined && data.Retry !== '0') target.retries++;
    }
    if (fault?.kind === 'no-answer') {
      bump(counters.byAnswer, 'no-answer');
      return; // the socket stays open until the client gives up or the simulator closes
    }
    if (fault?.kind === 'slow') await sleep(fault.delayMs ?? 2000);
    if (fault?.kind === 'http-500') {
      bump(counters.byAnswer, 'http-500');
      res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end('internal server error');
      return;
    }
    if (fault?.kind === 'decrypt-fail') {
      bump(counters.byAnswer, '8003');
      return sendJson(res, 200, plainHeader('8003', 'decryption failed'));
    }
    if (fault?.kind === 'bare-status') {
      bump(counters.byAnswer, '8003');
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('8003');
      return;
    }
    const merchant = merchants.get(header.MchId);
    const result =
      !merchant || !tradeKeyMatches(header.TradeKey, merchant.tradePassword)
        ? answer('7105', 'TradeKey error')
        : header.Method !== EASYCARD_METHOD
          ? answer('9998', `Method ${header.Method} is not simulated`)
          : serve(header.ServiceType, merchant, data, fault);
    const errorCode = typeof result.data?.ErrorCode === 'string' ? `/${result.data.ErrorCode}` : '';
    bump(counters.byAnswer, `${result.statusCode}${errorCode}`);
    const news =
      fault?.kind === 'unknown-values' || fault?.kind === 'unknown-status'
        ? INTELLA_UNKNOWN_VALUES
        : undefined;
    const plainResponse = buildPlainResponse({
      statusCode: result.statusCode,
      statusDesc: result.statusDesc,
      method: header.Method,
      serviceType: header.ServiceType,
      mchId: header.MchId,
      responseTime: new Date(clock()),
      data: result.data ?? null,
    });
    // fields a newer intella might add: the answer must stay readable
    const response = news
      ? {
          Header: { ...plainResponse.Header, ...news.header },
          Data: { ...(plainResponse.Data as Record<string, unknown> | undefined), ...news.data },
        }
      : plainResponse;
    logger.event('debug', 'answer', { response: redactIntella(response) });
    const sealed = sealResponse(response, aesKey, iv);
    if (fault?.kind === 'escaped-response') {
      return sendJson(res, 200, { Response: escapedEquals(response, aesKey, iv) });
    }
    if (fault?.kind === 'corrupt-response') {
      bump(counters.byAnswer, 'corrupt');
      return sendJson(res, 200, { Response: corrupt(sealed.Response) });
    }
    sendJson(res, 200, sealed);
  };

  const control = (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const method = req.method ?? 'GET';
    const parts = controlSegments(req.url, `${CONTROL_PREFIX}/`);
    const route = parts.join('/');
    return answerControl(req, res, 'apps/simulators/src/intella/README.md', () => {
      if (method === 'GET' && route === 'state') {
        return sendJson(res, 200, {
          merchants: [...merchants.values()].map((m) => ({ mchId: m.mchId, iv: m.iv })),
          readers: readerStats(),
          faults: faults.list(),
          counters,
        });
      }
      if (method === 'GET' && route === 'counters')
        return sendJson(res, 200, { ...counters, readers: readerStats() });
      if (method === 'POST' && route === 'counters/reset') {
        resetCounters();
        return sendJson(res, 200, { ok: true });
      }
      if (method === 'GET' && route === 'public-key') {
        res.writeHead(200, { 'Content-Type': 'application/x-pem-file' });
        res.end(publicKeyPem);
        return;
      }
      if (method === 'GET' && route === 'issued-keys') return sendJson(res, 200, issuedKeys());
      if (parts[0] === 'faults') {
        if (method === 'GET' && parts.length === 1) return sendJson(res, 200, faults.list());
        if (method === 'POST' && parts.length === 1)
          return sendJson(res, 201, faults.add(parseFaultSpec(parseJsonBody(body))));
        if (method === 'DELETE' && parts.length === 1) {
          faults.clear();
          return sendJson(res, 200, { ok: true });
        }
        if (method === 'DELETE' && parts.length === 2) {
          const removed = faults.remove(Number(parts[1]));
          return sendJson(res, removed ? 200 : 404, { ok: removed });
        }
      }
      if (parts[0] === 'readers') {
        if (method === 'POST' && parts.length === 1) {
          const input = parseJsonBody(body) as { mchId?: unknown; deviceId?: unknown };
          if (typeof input.mchId !== 'string' || typeof input.deviceId !== 'string')
            throw new FaultSpecError('expected {"mchId": string, "deviceId": string}');
          addReader(input.mchId, input.deviceId);
          return sendJson(res, 201, { ok: true });
        }
        if (method === 'DELETE' && parts.length === 2) {
          const removed = readers.delete(parts[1]);
          return sendJson(res, removed ? 200 : 404, { ok: removed });
        }
      }
    });
  };

  const readerStats = (): SimReaderStats[] =>
    [...readers.values()].map((reader) => {
      const { keys: _keys, unsettledSince: _since, ...stats } = reader;
      return { ...stats };
    });
  const issuedKeys = () =>
    Object.fromEntries([...readers.values()].map((reader) => [reader.deviceId, [...reader.keys]]));
  const resetCounters = () => {
    counters = emptyCounters();
    for (const reader of readers.values()) {
      reader.signOnRequests = 0;
      reader.signOns = 0;
      reader.settlementRequests = 0;
      reader.settlements = 0;
      reader.retries = 0;
    }
  };

  const server = createServer(
    withBody(
      {
        maxBytes: MAX_BODY_BYTES,
        onError(_req, res, error) {
          logger.event('error', 'simulator request failed', { error: String(error) });
          sendJson(res, 500, { error: 'simulator error' });
        },
      },
      (req, res, body) => {
        const url = (req.url ?? '/').split('?')[0];
        if (url.startsWith(`${CONTROL_PREFIX}/`)) return control(req, res, body);
        if (url !== path)
          return sendJson(res, 404, { error: `no route ${url}; intella is at ${path}` });
        if (req.method !== 'POST') return sendJson(res, 405, { error: 'use POST' });
        return handleIntella(body, res);
      },
    ),
  );
  const listening = await listen(server, options);
  const port = listening.port;
  const host = options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1';
  const base = `http://${host}:${port}`;
  return {
    url: `${base}${path}`,
    port,
    controlUrl: `${base}${CONTROL_PREFIX}`,
    publicKeyPem,
    ivs: Object.fromEntries([...merchants.values()].map((m) => [m.mchId, m.iv])),
    faults: {
      add: (spec) => faults.add(parseFaultSpec(spec)),
      remove: (id) => faults.remove(id),
      clear: () => faults.clear(),
      list: () => faults.list(),
    },
    counters: () => structuredClone(counters),
    readers: readerStats,
    reader: (deviceId) => readerStats().find((reader) => reader.deviceId === deviceId),
    signOnRequests: () =>
      [...readers.values()].reduce((sum, reader) => sum + reader.signOnRequests, 0),
    issuedKeys,
    addReader,
    removeReader: (deviceId) => readers.delete(deviceId),
    resetCounters,
    close: () => listening.close(),
  };
}

function emptyCounters(): SimCounters {
  return { requests: 0, byServiceType: {}, byAnswer: {}, faultsApplied: {} };
}

/** The 10-digit DeviceID intella answers (seed: 0220131329); derived so it is stable per reader. */
function derivedDeviceId(deviceId: string): string {
  const digits = /^\d+$/.test(deviceId)
    ? deviceId
    : String(parseInt(createHash('sha256').update(deviceId).digest('hex').slice(0, 12), 16));
  return `02${digits}`.slice(-10).padStart(10, '0');
}

function dongleId(deviceId: string): string {
  return createHash('sha256').update(`dongle:${deviceId}`).digest('hex').slice(0, 12).toUpperCase();
}

/** Flips bits in the last block, so the padding (and the JSON) no longer check out. */
function corrupt(base64: string): string {
  const bytes = Buffer.from(base64, 'base64');
  for (let i = Math.max(0, bytes.length - 16); i < bytes.length; i++) bytes[i] ^= 0x5a;
  return bytes.toString('base64');
}
