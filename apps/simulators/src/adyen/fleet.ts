import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import NexoCrypto from '@adyen/api-library/lib/src/security/nexoCrypto';
import type {
  MessageHeader,
  SaleToPOISecuredMessage,
  SecurityKey,
} from '@adyen/api-library/lib/src/typings/terminal/models';
import { enableNexoKeyCache, parsePoiId } from '@tillbus/protocols-adyen';
import {
  diagnosisAnswer,
  failureAnswer,
  readDiagnosisAsk,
  type DiagnosisAsk,
  type SimulatedPoi,
} from './diagnosis';
import { FaultError, parseAdyenFaults, type AdyenFaults } from './faults';
import { generateSelfSignedCertificate, type TlsMaterial } from './tls';

export interface AdyenSimTerminalSpec {
  /** `[model]-[serial]`, or a Mobile SDK installation id. */
  poiId: string;
  keyIdentifier?: string;
  passphrase?: string;
  keyVersion?: number;
  storeId?: string;
  merchantAccount?: string;
  firmwareVersion?: string;
  batteryPowered?: boolean;
  printer?: boolean;
}

export interface AdyenFleetOptions {
  /** How many payment terminals (`<model>-<serial>`), or their POIIDs / specs. */
  terminals?: number | readonly (string | AdyenSimTerminalSpec)[];
  /** How many Mobile SDK installations (POIID = installation id). */
  mobile?: number;
  model?: string;
  /** The fleet's shared Nexo security key (each terminal may have its own). A random passphrase by default. */
  keyIdentifier?: string;
  passphrase?: string;
  keyVersion?: number;
  merchantAccount?: string;
  /** Enables the cloud endpoint `POST /sync`, which accepts this X-API-Key. */
  cloudApiKey?: string;
  /** Certificate and key to serve; otherwise one is generated with openssl into `tlsDir` (or a temp dir). */
  tls?: TlsMaterial;
  tlsDir?: string;
  port?: number;
  host?: string;
  faults?: Readonly<Record<string, AdyenFaults>>;
  /** Keep every diagnosis (POIID, time, host flag) for tests that count per interval. */
  recordRequests?: boolean;
  now?: () => number;
}

export interface AdyenRequestRecord {
  poiId: string;
  at: number;
  hostDiagnosis: boolean;
  channel: 'local' | 'cloud';
}

export interface AdyenFleet {
  /** `https://host:port`: the local endpoint is `${url}/nexo`, the cloud stand-in `${url}/sync`. */
  url: string;
  nexoUrl: string;
  port: number;
  poiIds: readonly string[];
  terminalIds: readonly string[];
  mobileIds: readonly string[];
  /** The certificate clients must trust (it is its own CA): ADYEN_TERMINAL_CA_FILE. */
  caCertPath: string;
  caCert: string;
  security: { keyIdentifier: string; passphrase: string; keyVersion: number };
  faults: {
    set(poiId: string, faults: AdyenFaults): void;
    patch(poiId: string, faults: AdyenFaults): void;
    clear(poiId: string): void;
    clearAll(): void;
    get(poiId: string): AdyenFaults;
  };
  /** A POI in a transaction answers Busy until it ends (or `durationMs` passes). */
  transactions: {
    start(poiId: string, durationMs?: number): void;
    end(poiId: string): void;
    active(poiId: string): boolean;
  };
  counters: {
    total(): number;
    of(poiId: string): number;
    /** ServiceIDs that a POI saw twice (a real terminal requires them unique for 48 h). */
    duplicateServiceIds(): number;
    records(): readonly AdyenRequestRecord[];
    reset(): void;
  };
  close(): Promise<void>;
}

const BODY_LIMIT = 256 * 1024;
const CONTROL_PREFIX = '/_sim/';
const SERVICE_IDS_REMEMBERED = 10_000;

/** One HTTPS server playing N Adyen terminals on the local Terminal API (Nexo-encrypted) and the cloud `/sync`. */
export async function startAdyenFleet(options: AdyenFleetOptions): Promise<AdyenFleet> {
  enableNexoKeyCache();
  const now = options.now ?? Date.now;
  const security = {
    keyIdentifier: options.keyIdentifier ?? 'tillbussim',
    passphrase: options.passphrase ?? randomBytes(18).toString('base64url'),
    keyVersion: options.keyVersion ?? 1,
  };
  const merchantAccount = options.merchantAccount ?? 'TillbusSimulatorPOS';
  const model = options.model ?? 'V400m';
  const specs: AdyenSimTerminalSpec[] =
    typeof options.terminals === 'number' || options.terminals === undefined
      ? Array.from({ length: options.terminals ?? 0 }, (_, i) => ({
          poiId: `${model}-${String(i + 1).padStart(9, '0')}`,
        }))
      : options.terminals.map((t) => (typeof t === 'string' ? { poiId: t } : t));
  for (let i = 1; i <= (options.mobile ?? 0); i++) {
    specs.push({ poiId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}.1` });
  }
  const pois = new Map<string, SimulatedPoi>();
  for (const spec of specs) {
    let kind: SimulatedPoi['kind'];
    try {
      kind = parsePoiId(spec.poiId).kind;
    } catch {
      throw new FaultError(`"${spec.poiId.slice(0, 60)}" is not a POIID`);
    }
    pois.set(spec.poiId, {
      poiId: spec.poiId,
      kind,
      keyIdentifier: spec.keyIdentifier ?? security.keyIdentifier,
      passphrase: spec.passphrase ?? security.passphrase,
      keyVersion: spec.keyVersion ?? security.keyVersion,
      storeId: spec.storeId ?? 'SimStore',
      merchantAccount: spec.merchantAccount ?? merchantAccount,
      firmwareVersion: spec.firmwareVersion ?? 'Castles_Android 1.99.3',
      batteryPowered: spec.batteryPowered ?? kind === 'terminal',
      printer: spec.printer ?? kind === 'terminal',
    });
  }
  const poiIds = [...pois.keys()];
  const checkPoi = (poiId: string) => {
    if (!pois.has(poiId)) throw new FaultError(`no simulated POI with POIID ${poiId}`);
  };

  const faults = new Map<string, AdyenFaults>();
  for (const [poiId, f] of Object.entries(options.faults ?? {})) {
    checkPoi(poiId);
    faults.set(poiId, parseAdyenFaults(f, `faults.${poiId}`));
  }
  const transactions = new Map<string, number>();
  const serviceIds = new Map<string, Set<string>>();
  const counts = new Map<string, number>();
  let total = 0;
  let duplicates = 0;
  const records: AdyenRequestRecord[] = [];
  const hanging = new Set<ServerResponse>();
  const sockets = new Set<Socket>();

  let tlsDir: string | undefined;
  let tls = options.tls;
  if (!tls) {
    tlsDir = options.tlsDir ?? mkdtempSync(join(tmpdir(), 'tillbus-adyen-fleet-'));
    tls = generateSelfSignedCertificate(tlsDir);
  }

  const inTransaction = (poiId: string) => {
    const until = transactions.get(poiId);
    if (until === undefined) return false;
    if (until <= now()) {
      transactions.delete(poiId);
      return false;
    }
    return true;
  };

  const remember = (poiId: string, serviceId: string) => {
    let seen = serviceIds.get(poiId);
    if (!seen) serviceIds.set(poiId, (seen = new Set()));
    if (seen.has(serviceId)) return false;
    seen.add(serviceId);
    if (seen.size > SERVICE_IDS_REMEMBERED) seen.delete(seen.values().next().value as string);
    return true;
  };

  /** The plain-JSON answer of a POI to a request; undefined means "never answer". */
  const handle = async (
    poi: SimulatedPoi,
    ask: DiagnosisAsk,
    channel: AdyenRequestRecord['channel'],
    res: ServerResponse,
  ): Promise<object | undefined> => {
    total += 1;
    counts.set(poi.poiId, (counts.get(poi.poiId) ?? 0) + 1);
    if (options.recordRequests) {
      records.push({
        poiId: poi.poiId,
        at: now(),
        hostDiagnosis: ask.ok && ask.hostDiagnosis,
        channel,
      });
    }
    const fault = faults.get(poi.poiId) ?? {};
    if (fault.noAnswer) {
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return undefined;
    }
    if (fault.slowMs) await delay(fault.slowMs);
    if (!ask.ok) return failureAnswer(ask, 'MessageFormat', ask.problem);
    if (ask.poiId !== poi.poiId) {
      return failureAnswer(ask, 'MessageFormat', 'MessageHeader.POIID is not this terminal');
    }
    // Not documented what a terminal answers to a reused ServiceID; the simulator refuses it as MessageFormat.
    if (!remember(poi.poiId, ask.serviceId)) {
      duplicates += 1;
      return failureAnswer(ask, 'MessageFormat', 'ServiceID already used within 48 hours');
    }
    return diagnosisAnswer(poi, fault, ask, inTransaction(poi.poiId), now());
  };

  const local = async (req: IncomingMessage, res: ServerResponse, raw: Buffer) => {
    const secured = field(parseJson(raw), 'SaleToPOIRequest') as
      SaleToPOISecuredMessage | undefined;
    const poiId = field(field(secured, 'MessageHeader'), 'POIID');
    const poi = typeof poiId === 'string' ? pois.get(poiId) : undefined;
    if (!secured || !poi) {
      return json(res, 404, { error: 'not a secured Terminal API request for a simulated POIID' });
    }
    const trailer = secured.SecurityTrailer ?? {};
    if (trailer.KeyIdentifier !== poi.keyIdentifier || trailer.KeyVersion !== poi.keyVersion) {
      return json(res, 401, { error: 'unknown KeyIdentifier or KeyVersion for this terminal' });
    }
    const key = securityKey(poi);
    let plain: string;
    try {
      plain = new NexoCrypto().decrypt(secured, key);
    } catch {
      return json(res, 401, { error: 'the request does not decrypt or its HMAC does not verify' });
    }
    const answer = await handle(poi, readDiagnosisAsk(parseJsonOrUndefined(plain)), 'local', res);
    if (answer === undefined || res.destroyed) return;
    const fault = faults.get(poi.poiId) ?? {};
    const body = malformedPlain(fault.malformed, JSON.stringify(answer));
    const header = (answer as { SaleToPOIResponse: { MessageHeader: MessageHeader } })
      .SaleToPOIResponse.MessageHeader;
    const sealed = NexoCrypto.encrypt(header, body, key);
    if (fault.badSignature) {
      sealed.SecurityTrailer.Hmac = randomBytes(32).toString('base64');
    }
    return sendBody(
      res,
      malformedOuter(fault.malformed, JSON.stringify({ SaleToPOIResponse: sealed })),
    );
  };

  const cloud = async (req: IncomingMessage, res: ServerResponse, raw: Buffer) => {
    if (!options.cloudApiKey) return json(res, 404, { error: 'the cloud endpoint is not enabled' });
    const refused = () =>
      json(res, 401, {
        status: 401,
        errorCode: '000',
        message: 'HTTP Status Response - Unauthorized',
        errorType: 'security',
      });
    if (req.headers['x-api-key'] !== options.cloudApiKey) return refused();
    const input = parseJsonOrUndefined(raw.toString('utf8'));
    const ask = readDiagnosisAsk(input);
    const poi = ask.poiId ? pois.get(ask.poiId) : undefined;
    if (!poi) return json(res, 404, { error: 'no simulated POI with this POIID' });
    if (faults.get(poi.poiId)?.badSignature) return refused();
    const answer = await handle(poi, ask, 'cloud', res);
    if (answer === undefined || res.destroyed) return;
    const fault = faults.get(poi.poiId) ?? {};
    return sendBody(
      res,
      malformedOuter(fault.malformed, malformedPlain(fault.malformed, JSON.stringify(answer))),
    );
  };

  const control = (req: IncomingMessage, res: ServerResponse, raw: Buffer) => {
    const parts = (req.url ?? '/')
      .split('?')[0]
      .slice(CONTROL_PREFIX.length)
      .split('/')
      .filter(Boolean)
      .map(decodeURIComponent);
    try {
      if (req.method === 'GET' && parts[0] === 'terminals' && parts.length === 1) {
        return json(res, 200, {
          terminals: poiIds.map((poiId) => ({
            poiId,
            kind: pois.get(poiId)!.kind,
            faults: faults.get(poiId) ?? {},
            inTransaction: inTransaction(poiId),
            requests: counts.get(poiId) ?? 0,
          })),
        });
      }
      if (req.method === 'GET' && parts[0] === 'counters') {
        return json(res, 200, {
          total,
          duplicateServiceIds: duplicates,
          byTerminal: Object.fromEntries(counts),
        });
      }
      if (req.method === 'GET' && parts[0] === 'records') {
        return json(res, 200, {
          recording: options.recordRequests === true,
          records: fleet.counters.records(),
        });
      }
      if (req.method === 'POST' && parts[0] === 'counters' && parts[1] === 'reset') {
        fleet.counters.reset();
        return json(res, 200, { total });
      }
      if (req.method === 'DELETE' && parts[0] === 'faults' && parts.length === 1) {
        fleet.faults.clearAll();
        return json(res, 200, { cleared: true });
      }
      if (parts[0] === 'terminals' && parts.length === 3) {
        const poiId = parts[1];
        if (parts[2] === 'faults') {
          if (req.method === 'GET') {
            checkPoi(poiId);
            return json(res, 200, fleet.faults.get(poiId));
          }
          if (req.method === 'DELETE') {
            fleet.faults.clear(poiId);
            return json(res, 200, {});
          }
          if (req.method === 'PUT' || req.method === 'PATCH') {
            const parsed = parseAdyenFaults(parseJson(raw));
            if (req.method === 'PUT') fleet.faults.set(poiId, parsed);
            else fleet.faults.patch(poiId, parsed);
            return json(res, 200, fleet.faults.get(poiId));
          }
        }
        if (parts[2] === 'transaction') {
          if (req.method === 'POST') {
            const body = parseJson(raw) as { durationMs?: unknown };
            const duration = body.durationMs;
            if (
              duration !== undefined &&
              (!Number.isInteger(duration) || (duration as number) < 1)
            ) {
              throw new FaultError('durationMs must be a positive integer');
            }
            fleet.transactions.start(poiId, duration as number | undefined);
            return json(res, 200, { inTransaction: true });
          }
          if (req.method === 'DELETE') {
            fleet.transactions.end(poiId);
            return json(res, 200, { inTransaction: false });
          }
        }
      }
      return json(res, 404, {
        error: `no control route ${req.method} ${req.url}; see apps/simulators/src/adyen/README.md`,
      });
    } catch (error) {
      return json(res, 400, { error: (error as Error).message });
    }
  };

  const server: Server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    readBody(req)
      .then((raw) => {
        if (raw === undefined) return json(res, 413, { error: 'body too large' });
        const path = (req.url ?? '/').split('?')[0];
        if (path.startsWith(CONTROL_PREFIX)) return control(req, res, raw);
        if (req.method !== 'POST') return json(res, 405, { error: 'use POST' });
        if (path === '/nexo' || path === '/nexo/') return local(req, res, raw);
        if (path === '/sync') return cloud(req, res, raw);
        return json(res, 404, { error: `no route ${path}: use /nexo (local) or /sync (cloud)` });
      })
      .catch(() => {
        if (!res.headersSent) json(res, 400, { error: 'malformed request' });
      });
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host ?? '127.0.0.1';
  const url = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const fleet: AdyenFleet = {
    url,
    nexoUrl: `${url}/nexo`,
    port,
    poiIds,
    terminalIds: poiIds.filter((id) => pois.get(id)!.kind === 'terminal'),
    mobileIds: poiIds.filter((id) => pois.get(id)!.kind === 'mobile-sdk'),
    caCertPath: tls.certPath,
    caCert: tls.cert,
    security,
    faults: {
      set(poiId, f) {
        checkPoi(poiId);
        faults.set(poiId, parseAdyenFaults(f));
      },
      patch(poiId, f) {
        checkPoi(poiId);
        faults.set(poiId, { ...faults.get(poiId), ...parseAdyenFaults(f) });
      },
      clear(poiId) {
        checkPoi(poiId);
        faults.delete(poiId);
      },
      clearAll() {
        faults.clear();
        transactions.clear();
        for (const res of hanging) res.destroy();
      },
      get: (poiId) => ({ ...faults.get(poiId) }),
    },
    transactions: {
      start(poiId, durationMs) {
        checkPoi(poiId);
        transactions.set(
          poiId,
          durationMs === undefined ? Number.POSITIVE_INFINITY : now() + durationMs,
        );
      },
      end(poiId) {
        checkPoi(poiId);
        transactions.delete(poiId);
      },
      active: (poiId) => inTransaction(poiId),
    },
    counters: {
      total: () => total,
      of: (poiId) => counts.get(poiId) ?? 0,
      duplicateServiceIds: () => duplicates,
      records: () => records,
      reset() {
        total = 0;
        duplicates = 0;
        counts.clear();
        records.length = 0;
      },
    },
    async close() {
      for (const res of hanging) res.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      if (tlsDir && !options.tlsDir) rmSync(tlsDir, { recursive: true, force: true });
    },
  };
  return fleet;
}

function securityKey(poi: SimulatedPoi): SecurityKey {
  return {
    AdyenCryptoVersion: 1,
    KeyIdentifier: poi.keyIdentifier,
    KeyVersion: poi.keyVersion,
    Passphrase: poi.passphrase,
  };
}

/** The decrypted payload, spoiled as asked. */
function malformedPlain(kind: AdyenFaults['malformed'], body: string): string {
  return kind === 'inner-garbage' ? 'this is not JSON' : body;
}

/** The HTTP body, spoiled as asked. */
function malformedOuter(kind: AdyenFaults['malformed'], body: string): string {
  switch (kind) {
    case 'garbage':
      return '<html><body>502 Bad Gateway</body></html>';
    case 'truncated':
      return body.slice(0, Math.floor(body.length / 2));
    case 'empty':
      return '';
    default:
      return body;
  }
}

function field(value: unknown, name: string): unknown {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)[name]
    : undefined;
}

function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8') || '{}');
  } catch {
    throw new FaultError('the body is not JSON');
  }
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > BODY_LIMIT) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendBody(res: ServerResponse, body: string): void {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
  res.end(body);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
