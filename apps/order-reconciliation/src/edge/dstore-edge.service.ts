import { HttpException, Inject, Injectable } from '@nestjs/common';
import { JsonLogger } from '@tillbus/observability';
import {
  ANTOM_CONTENT_TYPE,
  ANTOM_PATHS,
  AntomProtocolError,
  DSTORE_CODE_FOR_SIGNATURE_FAILURE,
  ORDER_ID_MAX,
  RESULT_MESSAGE_MAX,
  readCreateOrderRequest,
  readInquireOrderDetailRequest,
  readPushOrderChangeRequest,
  signResponse,
  verifyRequest,
  type AntomSignatureFailure,
  type DStoreRead,
} from '@tillbus/protocols-antom';
import { dstoreResult, type DStoreResultCode } from '@tillbus/result-codes';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CLOCK, type Clock } from '../clock';
import { ORDER_RECONCILIATION_CONFIG, type OrderReconciliationConfig } from '../config';
import { KEY_MATERIAL, type KeyMaterial } from '../keys';
import { OrderMetrics, type EdgeApiLabel } from '../metrics';
import {
  OrderConflictError,
  OrderNotFoundError,
  OrderRefusedError,
  StoreUnavailableError,
} from '../orders/errors';
import type { OrderRecord } from '../orders/order-record';
import { OrdersService } from '../orders/orders.service';
import { KvReplayGuard } from './kv-replay-guard';
import { RateLimiter } from './rate-limiter';
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

/** What the edge answers: always a body with `result`, signed; HTTP 200 except 405 for a method other than POST. */
export interface EdgeAnswer {
  httpStatus: 200 | 405;
  code: DStoreResultCode;
  body: Record<string, unknown>;
}

export function answer(
  code: DStoreResultCode,
  message?: string,
  extra: Record<string, unknown> = {},
  httpStatus: 200 | 405 = 200,
): EdgeAnswer {
  const text = message === undefined ? undefined : message.slice(0, RESULT_MESSAGE_MAX);
  return { httpStatus, code, body: { result: dstoreResult(code, text), ...extra } };
}

/**
 * The D-Store edge, in the order every request goes through it:
 * 1. the path names one of our APIs (INVALID_API), and the method is POST (405, INVALID_API);
 * 2. the Client-Id is one D-Store may use (ACCESS_DENIED);
 * 3. the signature verifies over the exact bytes received, the Request-Time is inside the window and the
 *    signature was never accepted before, on any replica (INVALID_SIGNATURE);
 * 4. the Client-Id is under its rate limit (REQUEST_TRAFFIC_EXCEED_LIMIT);
 * 5. the body has the API's documented required fields within our limits (PARAM_ILLEGAL); fields and enum values
 *    D-Store added after us are kept verbatim and logged (the tolerant-reader rule, protocols.md);
 * 6. the API itself: PROCESS_FAIL for an order never stored (and conflicts and refused changes), U only when our
 *    store or bus does not answer.
 * Every answer is signed with our key (`response-time`, `signature`) over the exact bytes sent.
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
    private readonly logger: JsonLogger,
  ) {
    this.allowedClientIds = new Set(config.DSTORE_CLIENT_IDS);
    this.limiter = new RateLimiter(config.RATE_LIMIT_PER_SECOND, config.RATE_LIMIT_BURST);
  }

  /** `api` is set by the API's own route; the fallback route passes undefined and the path decides. */
  async handle(api: EdgeApi | undefined, req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const started = process.hrtime.bigint();
    const path = req.url;
    const routePath = path.split('?')[0];
    const resolved = api ?? API_BY_LOWER_PATH.get(routePath.toLowerCase());
    let result: EdgeAnswer;
    try {
      if (resolved === undefined) {
        result = answer(
          'INVALID_API',
          `no D-Store API at ${routePath.slice(0, 80)}: POST /v2/pos/createOrder, /v2/pos/inquireOrderDetail or /v2/pos/pushOrderChange`,
        );
      } else if (req.method !== 'POST') {
        result = answer(
          'INVALID_API',
          `${req.method} is not supported on ${EDGE_APIS[resolved]}: use POST`,
          {},
          405,
        );
      } else {
        result = await this.process(resolved, path, req);
      }
    } catch (error) {
      result = this.unexpected(error);
    }
    this.send(req, reply, resolved ?? 'unknown', result, started);
  }

  /** For errors raised before a handler ran (an oversized body): still a signed D-Store answer. */
  answerError(error: unknown, req: FastifyRequest, reply: FastifyReply): void {
    const started = process.hrtime.bigint();
    const resolved = API_BY_LOWER_PATH.get(req.url.split('?')[0].toLowerCase()) ?? 'unknown';
    const status = error instanceof HttpException ? error.getStatus() : 500;
    const result =
      status === 413
        ? answer('PARAM_ILLEGAL', `the body is larger than ${this.config.MAX_BODY_BYTES} bytes`)
        : status >= 400 && status < 500
          ? answer('PARAM_ILLEGAL', `the request cannot be read: ${(error as Error).message}`)
          : this.unexpected(error);
    this.send(req, reply, resolved, result, started);
  }

  private async process(api: EdgeApi, path: string, req: FastifyRequest): Promise<EdgeAnswer> {
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const clientHeader = req.headers['client-id'];
    if (clientHeader === undefined || clientHeader === '')
      return this.refuseSignature('MISSING_CLIENT_ID');
    if (typeof clientHeader === 'string' && !this.allowedClientIds.has(clientHeader))
      return this.refuseSignature(
        'CLIENT_ID_MISMATCH',
        'the Client-Id is not one this POS provider accepts',
      );
    // verifyRequest checks the signature synchronously, then records it with the KV replay guard; an inquiry's
    // order read is issued in the same pass, and so are those of every request that arrived in this loop turn, so
    // their JetStream requests leave in one socket write. A read's result is used only once the signature, the
    // window, the replay check and the rate limit have passed.
    const { verifying, inquiry } = await this.batch.run(() => ({
      verifying: verifyRequest({
        method: 'POST',
        path,
        headers: req.headers,
        rawBody,
        publicKey: this.keys.dstorePublicKey,
        now: this.clock.now(),
        maxSkewMs: this.config.SIGNATURE_WINDOW_MS,
        replayGuard: this.replayGuard,
        ...(typeof clientHeader === 'string' ? { expectedClientId: clientHeader } : {}),
      }),
      inquiry: api === 'inquireOrderDetail' ? this.startInquiry(rawBody) : undefined,
    }));
    let verification;
    try {
      verification = await verifying;
    } catch (error) {
      if (error instanceof StoreUnavailableError) return unavailable(error);
      throw error;
    }
    if (!verification.ok) return this.refuseSignature(verification.reason, verification.message);
    if (!this.limiter.take(verification.clientId, this.clock.now())) {
      return answer(
        'REQUEST_TRAFFIC_EXCEED_LIMIT',
        `more than ${this.config.RATE_LIMIT_PER_SECOND} requests per second for this Client-Id; slow down`,
      );
    }
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

  private refuseSignature(reason: AntomSignatureFailure, message?: string): EdgeAnswer {
    this.metrics.signatureFailures.inc({ direction: 'request', reason });
    const code = DSTORE_CODE_FOR_SIGNATURE_FAILURE[reason];
    return answer(code, message);
  }

  /**
   * A bug, not an outage: logged in full. D-Store gets U so that it keeps the order and asks again, rather than F,
   * which would make it give up on an order because of our defect; the metric and the log make it visible.
   */
  private unexpected(error: unknown): EdgeAnswer {
    this.logger.event('error', 'D-Store request failed unexpectedly', {
      error:
        error instanceof Error
          ? { name: error.name, message: error.message, stack: error.stack }
          : String(error),
    });
    return answer('UNKNOWN_EXCEPTION', 'internal error; retry');
  }

  private send(
    req: FastifyRequest,
    reply: FastifyReply,
    api: EdgeApiLabel,
    result: EdgeAnswer,
    started: bigint,
  ): void {
    const body = Buffer.from(JSON.stringify(result.body), 'utf8');
    const header = req.headers['client-id'];
    const clientId =
      typeof header === 'string' && header.length > 0 && header.length <= 256
        ? header
        : this.config.DSTORE_CLIENT_IDS[0];
    const signed = signResponse({
      method: req.method,
      path: req.url,
      clientId,
      body,
      privateKey: this.keys.posPrivateKey,
      keyVersion: this.config.POS_KEY_VERSION,
      responseTime: this.clock.now(),
    });
    reply.status(result.httpStatus).headers({
      'content-type': ANTOM_CONTENT_TYPE,
      'client-id': signed['client-id'],
      'response-time': signed['response-time'],
      signature: signed.signature,
      ...(result.httpStatus === 405 ? { allow: 'POST' } : {}),
    });
    reply.send(body);
    const status = (result.body.result as { resultStatus: 'S' | 'F' | 'U' }).resultStatus;
    this.metrics.answered(
      api,
      status,
      result.code,
      Number(process.hrtime.bigint() - started) / 1e9,
    );
    if (status !== 'S' && result.code !== 'PROCESS_FAIL') {
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

function unavailable(error: StoreUnavailableError): EdgeAnswer {
  return answer('UNKNOWN_EXCEPTION', `temporarily unavailable (${error.message})`);
}
