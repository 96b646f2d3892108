import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import {
  ANTOM_PATHS,
  DIAGNOSIS_CODE_FOR_SIGNATURE_FAILURE,
  InMemoryReplayGuard,
  loadPrivateKey,
  loadPublicKey,
  parseDiagnosisRequest,
  signResponse,
  verifyRequest,
  type AntomKeyInput,
} from '@tillbus/protocols-antom';
import { antomDiagnosisResult, type AntomDiagnosisCode } from '@tillbus/result-codes';
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
import { sendJson, withBody } from '../shared/http-body';
import { listen } from '../shared/http-server';
import { ANTOM_UNKNOWN_VALUES, FaultError, parseAntomFaults, type AntomFaults } from './faults';

export interface AntomFleetOptions extends FleetServerOptions<AntomFaults> {
  /** How many terminals (serial numbers `<serialPrefix><000001>`), or the exact serial numbers. */
  terminals: number | readonly string[];
  serialPrefix?: string;
  /** The terminals sign their answers with this key; generated when absent. */
  terminalPrivateKey?: AntomKeyInput;
  /** The POS's public key: requests must verify with it. Generated (with its private half) when absent. */
  posPublicKey?: AntomKeyInput;
  /** Request-Time window, as the vendor's terminals would apply it. */
  maxSkewMs?: number;
  /** Signatures remembered against replays (default 2,000,000: enough for 6,000 requests/s over 5 minutes). */
  replayMemory?: number;
}

export interface AntomRequestRecord {
  serial: string;
  at: number;
}

export interface AntomFleet {
  /** Base URL of every terminal: they share one server and are told apart by Client-Id (the serial number). */
  url: string;
  port: number;
  serials: readonly string[];
  keys: {
    /** PEM (SPKI): what the POS verifies terminal answers with. */
    terminalPublicKey: string;
    /** PEM (PKCS#8): present when the fleet generated the POS key pair. */
    posPrivateKey?: string;
    posPublicKey: string;
  };
  /** By serial number. */
  faults: FleetFaults<AntomFaults>;
  /** Diagnosis requests received (any answer), fleet-wide and per serial number. */
  counters: FleetCounters<AntomRequestRecord>;
  close(): Promise<void>;
}

const BODY_LIMIT = 64 * 1024;
const CONTROL_PREFIX = '/_sim/';

/** One HTTP server playing N Antom terminals: `POST /v2/device/diagnosis`, signed both ways. */
export async function startAntomFleet(options: AntomFleetOptions): Promise<AntomFleet> {
  const now = options.now ?? Date.now;
  const serials =
    typeof options.terminals === 'number'
      ? Array.from(
          { length: options.terminals },
          (_, i) => `${options.serialPrefix ?? 'ANTOMSIM'}${String(i + 1).padStart(6, '0')}`,
        )
      : [...options.terminals];
  for (const serial of serials) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(serial)) {
      throw new FaultError(
        `serial number "${serial.slice(0, 40)}" must be 1-64 of A-Z a-z 0-9 _ -`,
      );
    }
  }
  const known = new Set(serials);

  const terminalKey = options.terminalPrivateKey
    ? loadPrivateKey(options.terminalPrivateKey)
    : generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  let posPrivatePem: string | undefined;
  let posPublic: KeyObject;
  if (options.posPublicKey) {
    posPublic = loadPublicKey(options.posPublicKey);
  } else {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    posPublic = pair.publicKey;
    posPrivatePem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  }
  // "bad signature" answers are signed with a key nobody was told about.
  const impostorKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  // Sized for a busy fleet: the guard scans all of its keys on every request once it is full of live ones.
  const replayGuard = new InMemoryReplayGuard({
    now,
    maxEntries: options.replayMemory ?? 2_000_000,
  });

  const hanging = new HangingResponses();
  const faults = new TerminalFaults<AntomFaults>({
    check(serial) {
      if (!known.has(serial)) throw new FaultError(`no simulated terminal with serial ${serial}`);
    },
    parse: parseAntomFaults,
    // Terminals that were told to hang stop hanging: their pending requests are dropped.
    onClearAll: () => hanging.dropAll(),
  });
  faults.load(options.faults);
  const counts = new RequestCounts<AntomRequestRecord>(options.recordRequests === true);

  const answer = async (req: IncomingMessage, res: ServerResponse, raw: Buffer) => {
    const path = (req.url ?? '/').split('?')[0];
    const clientId = headerText(req.headers['client-id']);
    const reply = (code: AntomDiagnosisCode, flags?: AntomFaults) =>
      send(res, req, clientId ?? '', code, flags, undefined);

    if (path.toLowerCase() !== ANTOM_PATHS.DIAGNOSIS.toLowerCase()) return reply('INVALID_API');
    if (req.method !== 'POST') return reply('METHOD_NOT_SUPPORTED');
    if (!clientId || !known.has(clientId)) return reply('CLIENT_INVALID');

    counts.add(clientId, () => ({ serial: clientId, at: now() }));

    const fault = faults.of(clientId) ?? {};
    if (fault.noAnswer) return hanging.hang(res);
    if (fault.slowMs) await delay(fault.slowMs);
    if (res.destroyed) return;
    // The Encrypt body algorithm is not published (protocols.md §2), so an encrypted request cannot be read.
    if (req.headers['encrypt'] !== undefined) return reply('INVALID_ENCRPT_DATA');

    const verified = await verifyRequest({
      path: req.url ?? path,
      method: req.method,
      headers: req.headers,
      rawBody: raw,
      publicKey: posPublic,
      now: now(),
      maxSkewMs: options.maxSkewMs,
      replayGuard,
    });
    if (!verified.ok) return reply(DIAGNOSIS_CODE_FOR_SIGNATURE_FAILURE[verified.reason]);
    try {
      parseDiagnosisRequest(raw, { unknownFields: 'forbid' });
    } catch {
      // The seed documents no code for a bad body; a business failure is the closest.
      return reply('PROCESS_FAIL');
    }
    return send(res, req, clientId, fault.resultCode ?? 'SUCCESS', fault, fault);
  };

  const send = (
    res: ServerResponse,
    req: IncomingMessage,
    clientId: string,
    code: AntomDiagnosisCode,
    flags: AntomFaults | undefined,
    fault: AntomFaults | undefined,
  ) => {
    const news = fault?.unknownValues ? ANTOM_UNKNOWN_VALUES : undefined;
    const result = { ...antomDiagnosisResult(code), ...news?.resultExtra };
    const message =
      code === 'SUCCESS'
        ? {
            result,
            networkStatus: flags?.networkDown ? 'N' : 'Y',
            printerStatus: news ? news.printerStatus : flags?.noPaper ? 'N' : 'Y',
            globalStatus: flags?.notReady ? 'N' : 'Y',
            ...news?.extra,
          }
        : { result, ...news?.extra };
    const body = malformedBody(fault?.malformed, JSON.stringify(message));
    const headers: Record<string, string> = { 'content-type': 'application/json; charset=UTF-8' };
    if (!fault?.unsigned) {
      Object.assign(
        headers,
        signResponse({
          method: req.method ?? 'POST',
          path: req.url ?? '/',
          clientId,
          body,
          privateKey: fault?.badSignature ? impostorKey : terminalKey,
          responseTime: now() + (fault?.clockSkewMs ?? 0),
        }),
      );
    }
    res.writeHead(200, headers);
    res.end(body);
  };

  const control = (req: IncomingMessage, res: ServerResponse, raw: Buffer) => {
    const parts = controlSegments(req.url, CONTROL_PREFIX);
    return answerControl(req, res, 'apps/simulators/src/antom/README.md', () => {
      if (req.method === 'GET' && parts[0] === 'terminals' && parts.length === 1) {
        return sendJson(res, 200, {
          terminals: serials.map((serial) => ({
            serial,
            faults: faults.get(serial),
            requests: counts.of(serial),
          })),
        });
      }
      if (req.method === 'GET' && parts[0] === 'counters') {
        return sendJson(res, 200, { total: counts.total(), byTerminal: counts.byTerminal() });
      }
      return fleetControl(req.method, parts, raw, res, {
        faults,
        counters: fleet.counters,
        recording: counts.recording,
      });
    });
  };

  const server = createServer(
    withBody(
      {
        maxBytes: BODY_LIMIT,
        onError: (_req, res) => sendJson(res, 500, { error: 'simulator error' }),
      },
      (req, res, raw) =>
        (req.url ?? '').startsWith(CONTROL_PREFIX) ? control(req, res, raw) : answer(req, res, raw),
    ),
  );
  server.keepAliveTimeout = 60_000;
  const listening = await listen(server, options);
  const port = listening.port;
  const host = options.host ?? '127.0.0.1';

  const fleet: AntomFleet = {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    serials,
    keys: {
      terminalPublicKey: loadPublicKey(terminalKey).export({
        type: 'spki',
        format: 'pem',
      }) as string,
      posPublicKey: posPublic.export({ type: 'spki', format: 'pem' }) as string,
      ...(posPrivatePem ? { posPrivateKey: posPrivatePem } : {}),
    },
    faults,
    counters: {
      total: () => counts.total(),
      of: (serial) => counts.of(serial),
      records: () => counts.records,
      reset: () => counts.reset(),
    },
    async close() {
      hanging.dropAll();
      await listening.close();
    },
  };
  return fleet;
}

function malformedBody(kind: AntomFaults['malformed'], body: string): string {
  if (kind !== 'wrong-types') return spoilBody(kind, body);
  return JSON.stringify({
    result: { resultStatus: 'S', resultCode: 200 },
    networkStatus: true,
    printerStatus: 1,
    globalStatus: null,
  });
}

function headerText(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  return text && text.trim().length > 0 ? text.trim() : undefined;
}
