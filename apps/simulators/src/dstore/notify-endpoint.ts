import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KeyObject } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ANTOM_PATHS,
  DSTORE_CODE_FOR_SIGNATURE_FAILURE,
  InMemoryReplayGuard,
  parseNotifyOrderChangeRequest,
  signResponse,
  verifyRequest,
} from '@tillbus/protocols-antom';
import { dstoreResult } from '@tillbus/result-codes';
import { readAnswer, takeAnswer, type DStoreFaults, type NotifyAnswer } from './faults';
import { withUnseenFields } from './orders';
import type { DStoreState, ReceivedNotification } from './state';

export interface NotifyEndpointOptions {
  faults: DStoreFaults;
  state: DStoreState;
  /** D-Store's private key: signs its answers. */
  privateKey: KeyObject;
  /** Signs answers under a `badSignature` fault. */
  strangerKey: KeyObject;
  /** Verifies notifyOrderChange. */
  posPublicKey: KeyObject;
  /** The Client-Id the POS must send; any when omitted. */
  posClientId?: string;
  maxSkewMs: number;
  now: () => number;
}

/**
 * D-Store's API as the POS edge sees it: notifyOrderChange, verified and answered by the faults' script, every
 * answer signed. Any other path is INVALID_API.
 */
export class NotifyEndpoint {
  private readonly replayGuard: InMemoryReplayGuard;

  constructor(private readonly options: NotifyEndpointOptions) {
    this.replayGuard = new InMemoryReplayGuard({ now: options.now });
  }

  handle(
    req: IncomingMessage,
    res: ServerResponse,
    raw: Buffer,
    path: string,
  ): Promise<void> | void {
    if (path !== ANTOM_PATHS.NOTIFY_ORDER_CHANGE) {
      return this.respond(req, res, 200, {
        result: dstoreResult('INVALID_API', `no D-Store API at ${path.slice(0, 80)}`),
      });
    }
    if (req.method !== 'POST') {
      return this.respond(req, res, 405, {
        result: dstoreResult('INVALID_API', `${req.method} is not supported: use POST`),
      });
    }
    return this.onNotify(req, res, raw);
  }

  /** Answers with a signed body (signed by a stranger under `badSignature`). */
  respond(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): void {
    const { faults, posClientId } = this.options;
    const sent = faults.unseenFields ? withUnseenFields(body) : body;
    const raw = Buffer.from(JSON.stringify(sent), 'utf8');
    const clientId = headerOf(req, 'client-id') ?? posClientId ?? 'unknown';
    const signed = signResponse({
      path: req.url ?? '/',
      clientId,
      body: raw,
      privateKey: faults.badSignature ? this.options.strangerKey : this.options.privateKey,
      responseTime: this.options.now(),
    });
    res.writeHead(status, { ...signed, 'content-length': raw.length });
    res.end(raw);
  }

  private async onNotify(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
    const { faults, state, now } = this.options;
    const counters = state.counters;
    counters.received++;
    const record: ReceivedNotification = {
      at: new Date(now()).toISOString(),
      verified: false,
      answer: '',
      duplicate: false,
    };
    state.received.push(record);
    if (faults.delayMs > 0) await sleep(faults.delayMs);
    const verification = await verifyRequest({
      path: req.url ?? ANTOM_PATHS.NOTIFY_ORDER_CHANGE,
      headers: req.headers,
      rawBody: raw,
      publicKey: this.options.posPublicKey,
      now: now(),
      maxSkewMs: this.options.maxSkewMs,
      replayGuard: this.replayGuard,
      ...(this.options.posClientId === undefined
        ? {}
        : { expectedClientId: this.options.posClientId }),
    });
    if (!verification.ok) {
      counters.rejected++;
      record.reason = verification.reason;
      const code = DSTORE_CODE_FOR_SIGNATURE_FAILURE[verification.reason];
      record.answer = `F:${code}`;
      state.changed();
      return this.respond(req, res, 200, { result: dstoreResult(code, verification.message) });
    }
    let request;
    try {
      request = parseNotifyOrderChangeRequest(raw, { unknownFields: 'forbid' });
    } catch (error) {
      counters.rejected++;
      record.reason = (error as Error).message;
      record.answer = 'F:PARAM_ILLEGAL';
      state.changed();
      return this.respond(req, res, 200, {
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
    const planned = takeAnswer(faults, request.requestOrderId);
    if (planned === 'DROP') {
      counters.dropped++;
      record.answer = 'DROP';
      state.changed();
      res.socket?.destroy();
      return;
    }
    const change = { ...request };
    // A strict D-Store refuses a refund beyond what the buyer paid minus earlier refunds (a repeat is not a refund).
    const refused = state.effects.has(request.requestId) ? undefined : state.buyers.refusal(change);
    const { status, code } =
      planned === 'S' && refused
        ? readAnswer('F')
        : readAnswer(planned as Exclude<NotifyAnswer, 'DROP'>);
    if (refused) record.reason = refused;
    if (status === 'S') {
      if (state.effects.has(request.requestId)) {
        record.duplicate = true;
        counters.duplicates++;
      } else {
        counters.effects++;
        state.effects.set(request.requestId, { ...change, at: record.at });
        state.buyers.apply(change);
        if (request.orderStatus !== undefined)
          state.beliefs.set(request.requestOrderId, request.orderStatus);
      }
    } else if (status === 'U') counters.answeredU++;
    else counters.answeredF++;
    record.answer = status === 'S' ? 'S' : `${status}:${code}`;
    const send = () => this.respond(req, res, 200, { result: dstoreResult(code) });
    if (faults.hold) {
      counters.held++;
      record.answer = `${record.answer} (held)`;
      state.changed();
      await state.hold((go) => res.once('close', go));
      if (!res.writableEnded && !res.socket?.destroyed) send();
      return;
    }
    state.changed();
    if (faults.slowMs > 0) await sleep(faults.slowMs);
    if (!res.socket?.destroyed) send();
  }
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
