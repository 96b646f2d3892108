import type { Clock } from '@tillbus/messaging';
import {
  buildPlainRequest,
  classifyPlainResponse,
  decryptResponse,
  encryptRequest,
  isIntellaProtocolError,
  parsePlainResponse,
  planEasyCardRetry,
  redactIntella,
  type IntellaPlainRequest,
  type JsonObject,
} from '@tillbus/protocols-intella';
import {
  classifyIntellaCallFailure,
  classifyIntellaResult,
  isIntellaStatusCode,
  type IntellaCallFailure,
  type Outcome,
} from '@tillbus/result-codes';
import type { JsonLogger } from '@tillbus/observability';
import type { ResolvedMerchant } from './merchants';

/** What one intella operation (with its Retry-rule resends) came to. */
export interface IntellaCallResult {
  outcome: Outcome;
  /** OK, an INTELLA_REASONS key, or an INTELLA_CALL_FAILURES key. */
  reason: string;
  statusCode?: string;
  errorCode?: string;
  /** The answer's Data when it had one. Holds NewAESKey after a SignOn: never log it. */
  data: JsonObject | null;
  /** Requests sent, the first included. */
  tries: number;
  /** The answer still asked for a retry when the Retry rule's bound was reached. */
  retryLimitReached: boolean;
}

export interface IntellaClientOptions {
  timeoutMs: number;
  maxTries: number;
  clock: Clock;
  logger: JsonLogger;
  /** Called once per HTTP request: ServiceType, a bounded result label, seconds. */
  observe?: (serviceType: string, result: string, seconds: number) => void;
  fetch?: typeof fetch;
}

type Sent =
  | {
      kind: 'answer';
      statusCode: string;
      errorCode?: string;
      data: JsonObject | null;
      verdict: { outcome: Outcome; reason: string };
    }
  | { kind: 'failure'; failure: IntellaCallFailure };

/**
 * The intella Scan2Pay client: the encrypted envelope from the protocol lib (a fresh AES key per request), one
 * HTTP POST per request with a timeout, the EasyCard verdict (StatusCode 0000 AND ErrorCode 000000), and the
 * Retry rule (resend with the returned values while Data.Retry >= 1, at most maxTries requests).
 */
export class IntellaClient {
  private readonly fetch: typeof fetch;

  constructor(private readonly options: IntellaClientOptions) {
    this.fetch = options.fetch ?? fetch;
  }

  async call(
    merchant: ResolvedMerchant,
    serviceType: string,
    data: JsonObject,
  ): Promise<IntellaCallResult> {
    let requestData = data;
    for (let tries = 1; ; tries++) {
      const sent = await this.send(merchant, serviceType, requestData);
      if (sent.kind === 'failure') {
        return {
          ...classifyIntellaCallFailure(sent.failure),
          data: null,
          tries,
          retryLimitReached: false,
        };
      }
      const result: IntellaCallResult = {
        ...sent.verdict,
        statusCode: sent.statusCode,
        errorCode: sent.errorCode,
        data: sent.data,
        tries,
        retryLimitReached: false,
      };
      if (sent.verdict.outcome === 'SUCCESS') return result;
      let plan;
      try {
        plan = planEasyCardRetry({
          serviceType,
          requestData,
          responseData: sent.data,
          triesSoFar: tries,
          maxTries: this.options.maxTries,
        });
      } catch {
        // a Retry value that is not a number: nothing to resend with
        return result;
      }
      if (plan.kind === 'RETRY') {
        requestData = plan.data;
        continue;
      }
      return { ...result, retryLimitReached: plan.kind === 'RETRY_LIMIT_REACHED' };
    }
  }

  private async send(
    merchant: ResolvedMerchant,
    serviceType: string,
    data: JsonObject,
  ): Promise<Sent> {
    const started = process.hrtime.bigint();
    const sent = await this.exchange(merchant, serviceType, data);
    const label =
      sent.kind === 'failure'
        ? sent.failure
        : isIntellaStatusCode(sent.statusCode) || /^99\d\d$/.test(sent.statusCode)
          ? sent.statusCode
          : 'other';
    this.options.observe?.(serviceType, label, Number(process.hrtime.bigint() - started) / 1e9);
    return sent;
  }

  private async exchange(
    merchant: ResolvedMerchant,
    serviceType: string,
    data: JsonObject,
  ): Promise<Sent> {
    const { logger } = this.options;
    let plain: IntellaPlainRequest;
    let wire;
    let aesKey: Buffer;
    try {
      plain = buildPlainRequest({
        serviceType,
        mchId: merchant.mchId,
        tradeKey: merchant.tradeKey,
        createTime: new Date(this.options.clock.now()),
        data,
      });
      ({ wire, aesKey } = encryptRequest(plain, {
        intellaPublicKey: merchant.publicKey,
        iv: merchant.iv,
      }));
    } catch (error) {
      logger.event('error', 'cannot build the intella request', {
        serviceType,
        mchId: merchant.mchId,
        error: isIntellaProtocolError(error) ? error : 'unexpected error',
      });
      return { kind: 'failure', failure: 'REQUEST_INVALID' };
    }
    logger.event('debug', 'intella request', { serviceType, request: redactIntella(plain) });
    let status: number;
    let text: string;
    try {
      const response = await this.fetch(merchant.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(wire),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      const name = (error as Error)?.name;
      const failure = name === 'TimeoutError' || name === 'AbortError' ? 'TIMEOUT' : 'UNREACHABLE';
      logger.event('warn', 'intella did not answer', {
        serviceType,
        mchId: merchant.mchId,
        failure,
      });
      return { kind: 'failure', failure };
    }
    try {
      const answer = parsePlainResponse(decryptResponse(text, aesKey, merchant.iv));
      logger.event('debug', 'intella answer', {
        serviceType,
        status,
        response: redactIntella(answer),
      });
      const errorCode =
        typeof answer.data?.ErrorCode === 'string' ? answer.data.ErrorCode : undefined;
      return {
        kind: 'answer',
        statusCode: answer.header.StatusCode,
        errorCode,
        data: answer.data,
        verdict: classifyPlainResponse(answer),
      };
    } catch (error) {
      // intella answers a request it cannot decrypt with a plain, unencrypted header (e.g. 8003)
      const details = isIntellaProtocolError(error) ? error.details : undefined;
      const statusCode = typeof details?.statusCode === 'string' ? details.statusCode : undefined;
      if (statusCode) {
        logger.event('warn', 'intella answered an unencrypted status', {
          serviceType,
          status,
          statusCode,
        });
        return {
          kind: 'answer',
          statusCode,
          data: null,
          verdict: classifyIntellaResult(statusCode),
        };
      }
      const failure: IntellaCallFailure =
        status >= 500 ? 'HTTP_5XX' : status >= 400 ? 'HTTP_4XX' : 'RESPONSE_UNREADABLE';
      logger.event('warn', 'intella answer unreadable', {
        serviceType,
        mchId: merchant.mchId,
        status,
        failure,
        error: isIntellaProtocolError(error) ? error.code : 'unexpected error',
      });
      return { kind: 'failure', failure };
    }
  }
}
