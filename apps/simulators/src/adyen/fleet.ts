import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
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
import { answerControl, controlSegments } from '../shared/control';
import {
  fleetControl,
  HangingResponses,
  type FleetCounters,
  type FleetFaults,
  type FleetServerOptions,
  RequestCounts,
  spoilBody,
  TerminalFaults,
} from '../shared/fleet';
import { parseJsonBody, sendJson, withBody } from '../shared/http-body';
import { listen } from '../shared/http-server';
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

export interface AdyenFleetOptions extends FleetServerOptions<AdyenFaults> {
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
  /** By POIID. */
  faults: FleetFaults<AdyenFaults>;
  /** A POI in a transaction answers Busy until it ends (or `durationMs` passes). */
  transactions: {
    start(poiId: string, durationMs?: number): void;
    end(poiId: string): void;
    active(poiId: string): boolean;
  };
  /** Diagnoses (local and cloud) by POIID; records carry the host flag and the channel. */
  counters: FleetCounters<AdyenRequestRecord> & {
    /** ServiceIDs that a POI saw twice (a real terminal requires them unique for 48 h). */
    duplicateServiceIds(): number;
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

  const transactions = new Map<string, number>();
  const hanging = new HangingResponses();
  const faults = new TerminalFaults<AdyenFaults>({
    check: checkPoi,
    parse: parseAdyenFaults,
    onClearAll() {
      transactions.clear();
      hanging.dropAll();
    },
  });
  faults.load(options.faults);
  const serviceIds = new Map<string, Set<string>>();
  const counts = new RequestCounts<AdyenRequestRecord>(options.recordRequests === true);
  let duplicates = 0;

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
    counts.add(poi.poiId, () => ({
      poiId: poi.poiId,
      at: now(),
      hostDiagnosis: ask.ok && ask.hostDiagnosis,
      channel,
    }));
    const fault = faults.of(poi.poiId) ?? {};
    if (fault.noAnswer) {
      hanging.hang(res);
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
    const secured = field(parseJsonBody(raw), 'SaleToPOIRequest') as
      SaleToPOISecuredMessage | undefined;
    const poiId = field(field(secured, 'MessageHeader'), 'POIID');
    const poi = typeof poiId === 'string' ? pois.get(poiId) : undefined;
    if (!secured || !poi) {
      return sendJson(res, 404, {
        error: 'not a secured Terminal API request for a simulated POIID',
      });
    }
    const trailer = secured.SecurityTrailer ?? {};
    if (trailer.KeyIdentifier !== poi.keyIdentifier || trailer.KeyVersion !== poi.keyVersion) {
      return sendJson(res, 401, { error: 'unknown KeyIdentifier or KeyVersion for this terminal' });
    }
    const key = securityKey(poi);
    let plain: string;
    try {
      plain = new NexoCrypto().decrypt(secured, key);
    } catch {
      return sendJson(res, 401, {
        error: 'the request does not decrypt or its HMAC does not verify',
      });
    }
    const answer = await handle(poi, readDiagnosisAsk(parseJsonOrUndefined(plain)), 'local', res);
    if (answer === undefined || res.destroyed) return;
    const fault = faults.of(poi.poiId) ?? {};
    const body = malformedPlain(fault.malformed, JSON.stringify(answer));
    const header = (answer as { SaleToPOIResponse: { MessageHeader: MessageHeader } })
      .SaleToPOIResponse.MessageHeader;
    const sealed = NexoCrypto.encrypt(header, body, key);
    if (fault.badSignature) {
      sealed.SecurityTrailer.Hmac = randomBytes(32).toString('base64');
    }
    return sendBody(res, spoilBody(fault.malformed, JSON.stringify({ SaleToPOIResponse: sealed })));
  };

  const cloud = async (req: IncomingMessage, res: ServerResponse, raw: Buffer) => {
    if (!options.cloudApiKey)
      return sendJson(res, 404, { error: 'the cloud endpoint is not enabled' });
    const refused = () =>
      sendJson(res, 401, {
        status: 401,
        errorCode: '000',
        message: 'HTTP Status Response - Unauthorized',
        errorType: 'security',
      });
    if (req.headers['x-api-key'] !== options.cloudApiKey) return refused();
    const input = parseJsonOrUndefined(raw.toString('utf8'));
    const ask = readDiagnosisAsk(input);
    const poi = ask.poiId ? pois.get(ask.poiId) : undefined;
    if (!poi) return sendJson(res, 404, { error: 'no simulated POI with this POIID' });
    if (faults.of(poi.poiId)?.badSignature) return refused();
    const answer = await handle(poi, ask, 'cloud', res);
    if (answer === undefined || res.destroyed) return;
    const fault = faults.of(poi.poiId) ?? {};
    return sendBody(
      res,
      spoilBody(fault.malformed, malformedPlain(fault.malformed, JSON.stringify(answer))),
    );
  };

  const control = (req: IncomingMessage, res: ServerResponse, raw: Buffer) => {
    const parts = controlSegments(req.url, CONTROL_PREFIX);
    return answerControl(req, res, 'apps/simulators/src/adyen/README.md', () => {
      if (req.method === 'GET' && parts[0] === 'terminals' && parts.length === 1) {
        return sendJson(res, 200, {
          terminals: poiIds.map((poiId) => ({
            poiId,
            kind: pois.get(poiId)!.kind,
            faults: faults.get(poiId),
            inTransaction: inTransaction(poiId),
            requests: counts.of(poiId),
          })),
        });
      }
      if (req.method === 'GET' && parts[0] === 'counters') {
        return sendJson(res, 200, {
          total: counts.total(),
          duplicateServiceIds: duplicates,
          byTerminal: counts.byTerminal(),
        });
      }
      if (parts[0] === 'terminals' && parts[2] === 'transaction' && parts.length === 3) {
        const poiId = parts[1];
        if (req.method === 'POST') {
          const body = parseJsonBody(raw) as { durationMs?: unknown };
          const duration = body.durationMs;
          if (duration !== undefined && (!Number.isInteger(duration) || (duration as number) < 1)) {
            throw new FaultError('durationMs must be a positive integer');
          }
          fleet.transactions.start(poiId, duration as number | undefined);
          return sendJson(res, 200, { inTransaction: true });
        }
        if (req.method === 'DELETE') {
          fleet.transactions.end(poiId);
          return sendJson(res, 200, { inTransaction: false });
        }
      }
      return fleetControl(req.method, parts, raw, res, {
        faults,
        counters: fleet.counters,
        recording: counts.recording,
      });
    });
  };

  const server = createServer(
    { cert: tls.cert, key: tls.key },
    withBody(
      {
        maxBytes: BODY_LIMIT,
        onError: (_req, res) => sendJson(res, 400, { error: 'malformed request' }),
      },
      (req, res, raw) => {
        const path = (req.url ?? '/').split('?')[0];
        if (path.startsWith(CONTROL_PREFIX)) return control(req, res, raw);
        if (req.method !== 'POST') return sendJson(res, 405, { error: 'use POST' });
        if (path === '/nexo' || path === '/nexo/') return local(req, res, raw);
        if (path === '/sync') return cloud(req, res, raw);
        return sendJson(res, 404, {
          error: `no route ${path}: use /nexo (local) or /sync (cloud)`,
        });
      },
    ),
  );
  server.keepAliveTimeout = 60_000;
  const listening = await listen(server, options);
  const port = listening.port;
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
    faults,
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
      total: () => counts.total(),
      of: (poiId) => counts.of(poiId),
      duplicateServiceIds: () => duplicates,
      records: () => counts.records,
      reset() {
        counts.reset();
        duplicates = 0;
      },
    },
    async close() {
      hanging.dropAll();
      await listening.close();
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

function sendBody(res: ServerResponse, body: string): void {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
  res.end(body);
}
