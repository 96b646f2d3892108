import type { KeyObject } from 'node:crypto';
import { ANTOM_PATHS, signRequest, verifyResponse } from '@tillbus/protocols-antom';
import type { DStoreFaults } from './faults';
import { withUnseenFields } from './orders';
import type { DStoreState } from './state';

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

export interface PosClientOptions {
  faults: DStoreFaults;
  state: DStoreState;
  /** Base URL of the POS edge; calls throw when it is not configured. */
  posUrl?: string;
  clientId: string;
  privateKey: KeyObject;
  posPublicKey: KeyObject;
  maxSkewMs: number;
  now: () => number;
}

/** D-Store calling the POS edge: each call signed, the answer's signature checked, copies sent by the faults. */
export class PosClient {
  constructor(private readonly options: PosClientOptions) {}

  async call(path: string, body: unknown, callOptions: CallOptions = {}): Promise<CallResult> {
    const first = await this.callOnce(path, body, callOptions);
    const copies = callOptions.duplicates ?? this.options.faults.duplicates;
    for (let i = 0; i < copies; i++)
      first.copies.push(await this.callOnce(path, body, callOptions));
    return first;
  }

  private async callOnce(
    path: string,
    body: unknown,
    callOptions: CallOptions,
  ): Promise<CallResult> {
    const { posUrl, faults, state, now } = this.options;
    if (!posUrl) throw new Error('posUrl is not configured: the simulator cannot call the POS');
    state.counters.callsSent++;
    if (path === ANTOM_PATHS.CREATE_ORDER) state.buyers.ordered(body);
    const sent = faults.unseenFields ? withUnseenFields(body) : body;
    const raw = Buffer.from(typeof sent === 'string' ? sent : JSON.stringify(sent), 'utf8');
    const signed: Record<string, string> = signRequest({
      path,
      clientId: this.options.clientId,
      body: raw,
      privateKey: this.options.privateKey,
      requestTime: callOptions.requestTime ?? now(),
    });
    for (const name of callOptions.omit ?? []) {
      for (const key of Object.keys(signed))
        if (key.toLowerCase() === name.toLowerCase()) delete signed[key];
    }
    const headers = { ...signed, ...(callOptions.headers ?? {}) };
    const response = await fetch(`${posUrl.replace(/\/+$/, '')}${path}`, {
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
      publicKey: this.options.posPublicKey,
      now: now(),
      maxSkewMs: this.options.maxSkewMs,
      clientId: headers['Client-Id'] ?? headers['client-id'] ?? this.options.clientId,
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
}
