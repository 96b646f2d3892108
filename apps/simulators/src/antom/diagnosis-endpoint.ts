import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  ANTOM_PATHS,
  DIAGNOSIS_CODE_FOR_SIGNATURE_FAILURE,
  InMemoryReplayGuard,
  parseDiagnosisRequest,
  signResponse,
  verifyRequest,
} from '@tillbus/protocols-antom';
import { antomDiagnosisResult, type AntomDiagnosisCode } from '@tillbus/result-codes';
import {
  meetHoldAndDelay,
  type HangingResponses,
  type RequestCounts,
  spoilBody,
  type TerminalFaults,
} from '../shared/fleet';
import { urlPath } from '../shared/http-body';
import { ANTOM_UNKNOWN_VALUES, type AntomFaults } from './faults';

export interface AntomRequestRecord {
  serial: string;
  at: number;
}

export interface DiagnosisEndpointOptions {
  serials: ReadonlySet<string>;
  faults: TerminalFaults<AntomFaults>;
  hanging: HangingResponses;
  counts: RequestCounts<AntomRequestRecord>;
  /** Signs the terminals' answers. */
  terminalKey: KeyObject;
  /** Verifies the POS's requests. */
  posPublicKey: KeyObject;
  maxSkewMs?: number;
  /** Signatures remembered against replays. */
  replayMemory: number;
  now: () => number;
}

/** `POST /v2/device/diagnosis` as the terminals answer it: the request verified, the answer signed, faults met. */
export class DiagnosisEndpoint {
  private readonly replayGuard: InMemoryReplayGuard;
  // "bad signature" answers are signed with a key nobody was told about.
  private readonly impostorKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

  constructor(private readonly options: DiagnosisEndpointOptions) {
    // Sized for a busy fleet: the guard scans all of its keys on every request once it is full of live ones.
    this.replayGuard = new InMemoryReplayGuard({
      now: options.now,
      maxEntries: options.replayMemory,
    });
  }

  async answer(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
    const { serials, faults, hanging, counts, now } = this.options;
    const path = urlPath(req.url);
    const clientId = headerText(req.headers['client-id']);
    const reply = (code: AntomDiagnosisCode, flags?: AntomFaults) =>
      this.send(res, req, clientId ?? '', code, flags, undefined);

    if (path.toLowerCase() !== ANTOM_PATHS.DIAGNOSIS.toLowerCase()) return reply('INVALID_API');
    if (req.method !== 'POST') return reply('METHOD_NOT_SUPPORTED');
    if (!clientId || !serials.has(clientId)) return reply('CLIENT_INVALID');

    counts.add(clientId, () => ({ serial: clientId, at: now() }));

    const fault = faults.of(clientId) ?? {};
    if (!(await meetHoldAndDelay(fault, res, hanging))) return;
    if (res.destroyed) return;
    // The Encrypt body algorithm is not published (protocols.md §2), so an encrypted request cannot be read.
    if (req.headers['encrypt'] !== undefined) return reply('INVALID_ENCRPT_DATA');

    const verified = await verifyRequest({
      path: req.url ?? path,
      method: req.method,
      headers: req.headers,
      rawBody: raw,
      publicKey: this.options.posPublicKey,
      now: now(),
      maxSkewMs: this.options.maxSkewMs,
      replayGuard: this.replayGuard,
    });
    if (!verified.ok) return reply(DIAGNOSIS_CODE_FOR_SIGNATURE_FAILURE[verified.reason]);
    try {
      parseDiagnosisRequest(raw, { unknownFields: 'forbid' });
    } catch {
      // The seed documents no code for a bad body; a business failure is the closest.
      return reply('PROCESS_FAIL');
    }
    return this.send(res, req, clientId, fault.resultCode ?? 'SUCCESS', fault, fault);
  }

  private send(
    res: ServerResponse,
    req: IncomingMessage,
    clientId: string,
    code: AntomDiagnosisCode,
    flags: AntomFaults | undefined,
    fault: AntomFaults | undefined,
  ): void {
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
          privateKey: fault?.badSignature ? this.impostorKey : this.options.terminalKey,
          responseTime: this.options.now() + (fault?.clockSkewMs ?? 0),
        }),
      );
    }
    res.writeHead(200, headers);
    res.end(body);
  }
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
