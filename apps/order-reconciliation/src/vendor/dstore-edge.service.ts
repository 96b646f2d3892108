import { CLOCK, type Clock } from '@tillbus/messaging';
import { HttpException, Inject, Injectable } from '@nestjs/common';
import { JsonLogger } from '@tillbus/observability';
import {
  ANTOM_PATHS,
  AntomProtocolError,
  DSTORE_CODE_FOR_SIGNATURE_FAILURE,
  ORDER_ID_MAX,
  readCreateOrderRequest,
  readInquireOrderDetailRequest,
  readPushOrderChangeRequest,
  signResponse,
  verifyRequest,
  type DStoreRead,
} from '@tillbus/protocols-antom';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ORDER_RECONCILIATION_CONFIG, type OrderReconciliationConfig } from '../config';
import { KEY_MATERIAL, type KeyMaterial } from './key-material';
import { OrderMetrics, type EdgeApiLabel } from '../metrics';
import {
  OrderConflictError,
  OrderNotFoundError,
  OrderRefusedError,
  StoreUnavailableError,
} from '../orders/errors';
import type { OrderRecord } from '../orders/order-record';
import { OrdersService } from '../orders/orders.service';
import {
  acceptedClientId,
  answer,
  answerBytes,
  unavailable,
  writeAnswer,
  writeUnsigned,
  type EdgeAnswer,
} from './edge-answer';
import { clientGone, httpStatusOf, timedOut } from './client-connection';
import { KvReplayGuard } from './kv-replay-guard';
import { RateLimiter } from './rate-limiter';
import { EdgeRefusals } from './refusals';
import { TurnBatch } from './turn-batch';

/** The D-Store → POS APIs the edge serves. */
export const EDGE_APIS = {
  createOrder: ANTOM_PATHS.CREATE_ORDER,
  inquireOrderDetail: ANTOM_PATHS.INQUIRE_ORDER_DETAIL,
  pushOrderChange: ANTOM_PATHS.PUSH_ORDER_CHANGE,
} as const;

export type EdgeApi = keyof typeof EDGE_APIS;

const API_BY_LOWER_PATH = new Map<string, EdgeApi>(
  (Object.entries(EDGE_APIS) as Array<[EdgeApi, string]>).map(([api, path]) => [
    path.toLowerCase(),
    api,
  ]),
);

/**
 * What process() decided: the answer, and the Client-Id it is signed for. Only a request whose signature verified
 * (fresh, not a replay) gets a signed answer; every other one is answered unsigned (see EdgeGate and docs).
 */
interface Outcome {
  result: EdgeAnswer;
  signFor?: string;
}

/**
 * The D-Store edge, in the order every request goes through it (the first three in EdgeGate, on the headers):
 * 1. the source address is under its rate limit (REQUEST_TRAFFIC_EXCEED_LIMIT, unsigned);
 * 2. the Client-Id is one D-Store may use (ACCESS_DENIED, unsigned);
 * 3. a Signature header is present (INVALID_SIGNATURE, unsigned);
 * 4. the body arrives in time (HTTP_REQUEST_TIMEOUT_MS) and within MAX_BODY_BYTES (PARAM_ILLEGAL, unsigned);
 * 5. the signature verifies over the exact bytes received, the Request-Time is inside the window and the
 *    signature was never accepted before, on any replica (INVALID_SIGNATURE, unsigned);
 * 6. the path names one of our APIs (INVALID_API), and the method is POST (405, INVALID_API);
 * 7. the Client-Id is under its rate limit (REQUEST_TRAFFIC_EXCEED_LIMIT);
 * 8. the body has the API's documented required fields within our limits (PARAM_ILLEGAL); fields and enum values
 *    D-Store added after us are kept verbatim and logged (the tolerant-reader rule, protocols.md);
 * 9. the API itself: PROCESS_FAIL for an order never stored (and conflicts and refused changes), U only when our
 *    store or bus does not answer.
 * From step 6 on the request is D-Store's, and the answer is signed with our key (`response-time`, `signature`)
 * over the exact bytes sent.
 */
@Injectable()
export class DStoreEdge {
  private readonly allowedClientIds: ReadonlySet<string>;
  private readonly limiter: RateLimiter;
  private readonly batch = new TurnBatch();

  constructor(
    @Inject(ORDER_RECONCILIATION_CONFIG) private readonly config: OrderReconciliationConfig,
    @Inject(KEY_MATERIAL) private readonly keys: KeyMaterial,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly replayGuard: KvReplayGuard,
    private readonly orders: OrdersService,
    private readonly metrics: OrderMetrics,
    private readonly refusals: EdgeRefusals,
    private readonly logger: JsonLogger,
  ) {
    this.allowedClientIds = new Set(config.DSTORE_CLIENT_IDS);
    this.limiter = new RateLimiter(config.RATE_LIMIT_PER_SECOND, config.RATE_LIMIT_BURST);
  }

  /** `api` is set by the API's own route; the fallback route passes undefined and the path decides. */
  async handle(api: EdgeApi | undefined, req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const started = process.hrtime.bigint();
    const resolved = api ?? API_BY_LOWER_PATH.get(req.url.split('?')[0].toLowerCase());
    let outcome: Outcome;
    const verified: { clientId?: string } = {};
    try {
      outcome = await this.process(resolved, req, verified);
    } catch (error) {
      outcome = { result: this.unexpected(error), signFor: verified.clientId };
    }
    if (outcome.signFor === undefined)
      writeUnsigned(reply, outcome.result, acceptedClientId(req, this.allowedClientIds));
    else this.sendSigned(req, reply, resolved ?? 'unknown', outcome, started);
  }

  /**
   * For errors raised before a handler ran: an oversized or unreadable body (unsigned PARAM_ILLEGAL, nothing about
   * it is verified), or a client that went away mid-body (no answer at all: nobody is there to read it).
   */
  answerError(error: unknown, req: FastifyRequest, reply: FastifyReply): void {
    if (clientGone(req, error)) {
      if (!timedOut(req)) this.refusals.record('client_aborted');
      return;
    }
    const status = error instanceof HttpException ? error.getStatus() : httpStatusOf(error);
    let result: EdgeAnswer;
    if (status === 413) {
      this.refusals.record('body_too_large');
      result = answer(
        'PARAM_ILLEGAL',
        `the body is larger than ${this.config.MAX_BODY_BYTES} bytes`,
      );
    } else if (status >= 400 && status < 500) {
      this.refusals.record('unreadable_body');
      result = answer('PARAM_ILLEGAL', `the request cannot be read: ${(error as Error).message}`);
    } else {
      result = this.unexpected(error);
    }
    writeUnsigned(reply, result, acceptedClientId(req, this.allowedClientIds));
  }

  private async process(
    resolved: EdgeApi | undefined,
    req: FastifyRequest,
    verified: { clientId?: string },
  ): Promise<Outcome> {
    const path = req.url;
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const clientId = acceptedClientId(req, this.allowedClientIds);
    if (clientId === undefined) {
      // EdgeGate refuses these first; kept so that this handler never verifies for an unknown Client-Id.
      this.refusals.signatureFailure('CLIENT_ID_MISMATCH');
      return {
        result: answer('ACCESS_DENIED', 'the Client-Id is not one this POS provider accepts'),
      };
    }
    const inquiring = resolved === 'inquireOrderDetail' && req.method === 'POST';
    // verifyRequest checks the signature synchronously, then records it with the KV replay guard; an inquiry's
    // order read is issued in the same pass, and so are those of every request that arrived in this loop turn, so
    // their JetStream requests leave in one socket write. A read's result is used only once the signature, the
    // window, the replay check and the rate limit have passed.
    const { verifying, inquiry } = await this.batch.run(() => ({
      verifying: verifyRequest({
        method: req.method,
        path,
        headers: req.headers,
        rawBody,
        publicKey: this.keys.dstorePublicKey,
        now: this.clock.now(),
        maxSkewMs: this.config.SIGNATURE_WINDOW_MS,
        replayGuard: this.replayGuard,
        expectedClientId: clientId,
      }),
      inquiry: inquiring ? this.startInquiry(rawBody) : undefined,
    }));
    let verification;
    try {
      verification = await verifying;
    } catch (error) {
      // Only the replay guard throws, after the signature itself verified: D-Store's, so signed.
      if (error instanceof StoreUnavailableError)
        return { result: unavailable(error), signFor: clientId };
      throw error;
    }
    if (!verification.ok) {
      this.refusals.signatureFailure(verification.reason);
      return {
        result: answer(
          DSTORE_CODE_FOR_SIGNATURE_FAILURE[verification.reason],
          verification.message,
        ),
      };
    }
    verified.clientId = verification.clientId;
    const signFor = verification.clientId;
    if (resolved === undefined) {
      const routePath = path.split('?')[0];
      return {
        signFor,
        result: answer(
          'INVALID_API',
          `no D-Store API at ${routePath.slice(0, 80)}: POST /v2/pos/createOrder, /v2/pos/inquireOrderDetail or /v2/pos/pushOrderChange`,
        ),
      };
    }
    if (req.method !== 'POST') {
      return {
        signFor,
        result: answer(
          'INVALID_API',
          `${req.method} is not supported on ${EDGE_APIS[resolved]}: use POST`,
          {},
          405,
        ),
      };
    }
    if (!this.limiter.take(verification.clientId, this.clock.now())) {
      this.refusals.record('client_rate_limit');
      return {
        signFor,
        result: answer(
          'REQUEST_TRAFFIC_EXCEED_LIMIT',
          `more than ${this.config.RATE_LIMIT_PER_SECOND} requests per second for this Client-Id; slow down`,
        ),
      };
    }
    return { signFor, result: await this.apiAnswer(resolved, rawBody, inquiry) };
  }

  private async apiAnswer(
    api: EdgeApi,
    rawBody: Buffer,
    inquiry: { order?: Promise<OrderRecord>; error?: unknown } | undefined,
  ): Promise<EdgeAnswer> {
    try {
      switch (api) {
        case 'inquireOrderDetail':
          return await this.finishInquiry(inquiry!);
        case 'createOrder':
          await this.orders.createOrder(this.tolerated(api, readCreateOrderRequest(rawBody)));
          return answer('SUCCESS');
        case 'pushOrderChange':
          await this.orders.pushOrderChange(
            this.tolerated(api, readPushOrderChangeRequest(rawBody)),
          );
          return answer('SUCCESS');
      }
    } catch (error) {
      return this.failure(error);
    }
  }

  /** Parses the inquiry and starts reading the order; nothing here is answered before verification. */
  private startInquiry(rawBody: Buffer): { order?: Promise<OrderRecord>; error?: unknown } {
    try {
      const requestOrderId =
        plainInquiry(rawBody) ?? readInquireOrderDetailRequest(rawBody).value.requestOrderId;
      const order = this.orders.inquire(requestOrderId);
      // Observed now, so a read whose request is refused later is never an unhandled rejection.
      order.catch(() => undefined);
      return { order };
    } catch (error) {
      return { error };
    }
  }

  private async finishInquiry(inquiry: {
    order?: Promise<OrderRecord>;
    error?: unknown;
  }): Promise<EdgeAnswer> {
    if (!inquiry.order) throw inquiry.error;
    const order = await inquiry.order;
    return answer('SUCCESS', undefined, {
      posOrderId: order.posOrderId,
      orderStatus: order.status,
      ...(order.extendInfo === undefined ? {} : { extendInfo: order.extendInfo }),
    });
  }

  /** What D-Store sent beyond what we know is kept; naming it (never its values but enum codes) shows what changed. */
  private tolerated<T>(api: EdgeApi, read: DStoreRead<T>): T & Record<string, unknown> {
    if (read.unknownFields.length > 0 || read.unrecognised.length > 0)
      this.logger.event('info', 'D-Store sent fields or values this version does not know; kept', {
        api,
        unknownFields: read.unknownFields.slice(0, 20),
        unrecognised: read.unrecognised.slice(0, 20),
      });
    return read.value as T & Record<string, unknown>;
  }

  private failure(error: unknown): EdgeAnswer {
    if (error instanceof AntomProtocolError) return answer('PARAM_ILLEGAL', error.message);
    if (error instanceof OrderNotFoundError) return answer('PROCESS_FAIL', error.message);
    if (error instanceof OrderConflictError || error instanceof OrderRefusedError)
      return answer('PROCESS_FAIL', error.message);
    if (error instanceof StoreUnavailableError) return unavailable(error);
    return this.unexpected(error);
  }

  /**
   * A bug, not an outage: logged in full. D-Store gets U so that it keeps the order and asks again, rather than F,
   * which would make it give up on an order because of our defect; the metric and the log make it visible.
   */
  private unexpected(error: unknown): EdgeAnswer {
    this.logger.event('error', 'D-Store request failed unexpectedly', { error });
    return answer('UNKNOWN_EXCEPTION', 'internal error; retry');
  }

  /** D-Store's request: the answer is signed for its (verified) Client-Id, counted, and a failure logged. */
  private sendSigned(
    req: FastifyRequest,
    reply: FastifyReply,
    api: EdgeApiLabel,
    { result, signFor }: Outcome,
    started: bigint,
  ): void {
    const body = answerBytes(result);
    const signed = signResponse({
      method: req.method,
      path: req.url,
      clientId: signFor!,
      body,
      privateKey: this.keys.posPrivateKey,
      keyVersion: this.config.POS_KEY_VERSION,
      responseTime: this.clock.now(),
    });
    writeAnswer(reply, result, body, {
      'client-id': signed['client-id'],
      'response-time': signed['response-time'],
      signature: signed.signature,
    });
    const status = (result.body.result as { resultStatus: 'S' | 'F' | 'U' }).resultStatus;
    this.metrics.answered(
      api,
      status,
      result.code,
      Number(process.hrtime.bigint() - started) / 1e9,
    );
    if (
      status !== 'S' &&
      result.code !== 'PROCESS_FAIL' &&
      result.code !== 'REQUEST_TRAFFIC_EXCEED_LIMIT'
    ) {
      this.logger.event(status === 'U' ? 'warn' : 'info', 'answered D-Store with a failure', {
        api,
        resultCode: result.code,
        resultMessage: (result.body.result as { resultMessage?: string }).resultMessage,
      });
    }
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The common inquiry, `{"requestOrderId": "<1-255 characters>"}` and nothing else, read without the schema machinery
 * (the hot path). Anything else returns undefined and goes through readInquireOrderDetailRequest, which accepts
 * the same bodies (and more: unknown fields) and words the errors.
 */
export function plainInquiry(rawBody: Buffer): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(rawBody));
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1 || keys[0] !== 'requestOrderId') return undefined;
  const id = (value as { requestOrderId: unknown }).requestOrderId;
  return typeof id === 'string' && id.length > 0 && id.length <= ORDER_ID_MAX ? id : undefined;
}
