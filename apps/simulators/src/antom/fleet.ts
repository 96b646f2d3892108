import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
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
import { FaultError, parseAntomFaults, type AntomFaults } from './faults';

export interface AntomFleetOptions {
  /** How many terminals (serial numbers `<serialPrefix><000001>`), or the exact serial numbers. */
  terminals: number | readonly string[];
  serialPrefix?: string;
  port?: number;
  host?: string;
  /** The terminals sign their answers with this key; generated when absent. */
  terminalPrivateKey?: AntomKeyInput;
  /** The POS's public key: requests must verify with it. Generated (with its private half) when absent. */
  posPublicKey?: AntomKeyInput;
  /** Request-Time window, as the vendor's terminals would apply it. */
  maxSkewMs?: number;
  /** Signatures remembered against replays (default 2,000,000: enough for 6,000 requests/s over 5 minutes). */
  replayMemory?: number;
  /** Faults in place from the start, by serial number. */
  faults?: Readonly<Record<string, AntomFaults>>;
  /** Keep every diagnosis (serial, time) for tests that count per interval; counts are always kept. */
  recordRequests?: boolean;
  now?: () => number;
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
  faults: {
    set(serial: string, faults: AntomFaults): void;
    patch(serial: string, faults: AntomFaults): void;
    clear(serial: string): void;
    clearAll(): void;
    get(serial: string): AntomFaults;
  };
  counters: {
    /** Diagnosis requests received (any answer), fleet-wide and per serial number. */
    total(): number;
    of(serial: string): number;
    /** Every request, when `recordRequests` is on. */
    records(): readonly AntomRequestRecord[];
    reset(): void;
  };
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

  const faults = new Map<string, AntomFaults>();
  const checkSerial = (serial: string) => {
    if (!known.has(serial)) throw new FaultError(`no simulated terminal with serial ${serial}`);
  };
  for (const [serial, f] of Object.entries(options.faults ?? {})) {
    checkSerial(serial);
    faults.set(serial, parseAntomFaults(f, `faults.${serial}`));
  }

  const counts = new Map<string, number>();
  let total = 0;
  const records: AntomRequestRecord[] = [];
  const hanging = new Set<ServerResponse>();
  const sockets = new Set<Socket>();

  const answer = async (req: IncomingMessage, res: ServerResponse, raw: Buffer) => {
    const path = (req.url ?? '/').split('?')[0];
    const clientId = headerText(req.headers['client-id']);
    const reply = (code: AntomDiagnosisCode, flags?: AntomFaults) =>
      send(res, req, clientId ?? '', code, flags, undefined);

    if (path.toLowerCase() !== ANTOM_PATHS.DIAGNOSIS.toLowerCase()) return reply('INVALID_API');
    if (req.method !== 'POST') return reply('METHOD_NOT_SUPPORTED');
    if (!clientId || !known.has(clientId)) return reply('CLIENT_INVALID');

    total += 1;
    counts.set(clientId, (counts.get(clientId) ?? 0) + 1);
    if (options.recordRequests) records.push({ serial: clientId, at: now() });

    const fault = faults.get(clientId) ?? {};
    if (fault.noAnswer) {
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return;
    }
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
    const result = antomDiagnosisResult(code);
    const message =
      code === 'SUCCESS'
        ? {
            result,
            networkStatus: flags?.networkDown ? 'N' : 'Y',
            printerStatus: flags?.noPaper ? 'N' : 'Y',
            globalStatus: flags?.notReady ? 'N' : 'Y',
          }
        : { result };
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
          responseTime: now(),
        }),
      );
    }
    res.writeHead(200, headers);
    res.end(body);
  };

  const control = (req: IncomingMessage, res: ServerResponse, raw: Buffer) => {
    const path = (req.url ?? '/').split('?')[0].slice(CONTROL_PREFIX.length);
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    try {
      if (req.method === 'GET' && parts[0] === 'terminals' && parts.length === 1) {
        return json(res, 200, {
          terminals: serials.map((serial) => ({
            serial,
            faults: faults.get(serial) ?? {},
            requests: counts.get(serial) ?? 0,
          })),
        });
      }
      if (req.method === 'GET' && parts[0] === 'counters') {
        return json(res, 200, { total, byTerminal: Object.fromEntries(counts) });
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
      if (parts[0] === 'terminals' && parts[2] === 'faults' && parts.length === 3) {
        const serial = parts[1];
        if (req.method === 'GET') {
          checkSerial(serial);
          return json(res, 200, fleet.faults.get(serial));
        }
        if (req.method === 'DELETE') {
          fleet.faults.clear(serial);
          return json(res, 200, {});
        }
        if (req.method === 'PUT' || req.method === 'PATCH') {
          const input = parseJson(raw);
          const parsed = parseAntomFaults(input);
          if (req.method === 'PUT') fleet.faults.set(serial, parsed);
          else fleet.faults.patch(serial, parsed);
          return json(res, 200, fleet.faults.get(serial));
        }
      }
      return json(res, 404, {
        error: `no control route ${req.method} ${CONTROL_PREFIX}${path}; see apps/simulators/src/antom/README.md`,
      });
    } catch (error) {
      return json(res, 400, { error: (error as Error).message });
    }
  };

  const server: Server = createServer((req, res) => {
    readBody(req)
      .then((raw) => {
        if (raw === undefined) return json(res, 413, { error: 'body too large' });
        if ((req.url ?? '').startsWith(CONTROL_PREFIX)) return control(req, res, raw);
        return answer(req, res, raw);
      })
      .catch(() => {
        if (!res.headersSent) json(res, 500, { error: 'simulator error' });
      });
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
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
    faults: {
      set(serial, f) {
        checkSerial(serial);
        faults.set(serial, parseAntomFaults(f));
      },
      patch(serial, f) {
        checkSerial(serial);
        faults.set(serial, { ...faults.get(serial), ...parseAntomFaults(f) });
      },
      clear(serial) {
        checkSerial(serial);
        faults.delete(serial);
      },
      clearAll() {
        faults.clear();
        // Terminals that were told to hang stop hanging: their pending requests are dropped.
        for (const res of hanging) res.destroy();
      },
      get: (serial) => ({ ...faults.get(serial) }),
    },
    counters: {
      total: () => total,
      of: (serial) => counts.get(serial) ?? 0,
      records: () => records,
      reset() {
        total = 0;
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
    },
  };
  return fleet;
}

function malformedBody(kind: AntomFaults['malformed'], body: string): string {
  switch (kind) {
    case 'garbage':
      return '<html><body>502 Bad Gateway</body></html>';
    case 'truncated':
      return body.slice(0, Math.floor(body.length / 2));
    case 'wrong-types':
      return JSON.stringify({
        result: { resultStatus: 'S', resultCode: 200 },
        networkStatus: true,
        printerStatus: 1,
        globalStatus: null,
      });
    case 'empty':
      return '';
    default:
      return body;
  }
}

function headerText(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  return text && text.trim().length > 0 ? text.trim() : undefined;
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

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8') || '{}');
  } catch {
    throw new FaultError('the body is not JSON');
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
