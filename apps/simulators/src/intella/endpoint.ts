import type { KeyObject } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  EASYCARD_METHOD,
  IntellaProtocolError,
  SERVER_STATUS_FOR_PROTOCOL_ERROR,
  buildPlainResponse,
  formatCreateTime,
  parsePlainRequest,
  redactIntella,
  tradeKeyMatches,
} from '@tillbus/protocols-intella';
import type { JsonLogger } from '@tillbus/observability';
import { sendJson } from '../shared/http-body';
import { answer } from './answers';
import type { SimClock } from './clock';
import type { MerchantDirectory } from './directory';
import type { EasyCardService } from './easycard-service';
import { EnvelopeOpenError, openRequest, sealResponse } from './envelope-server';
import { corrupt, escapedEquals } from './fault-effects';
import { INTELLA_UNKNOWN_VALUES, type FaultBook } from './faults';

export interface SimCounters {
  /** Every POST to the intella path. */
  requests: number;
  byServiceType: Record<string, number>;
  /** `StatusCode` or `StatusCode/ErrorCode` of every answer, plus `http-500`, `no-answer`, `corrupt`. */
  byAnswer: Record<string, number>;
  faultsApplied: Record<string, number>;
}

export interface IntellaEndpointOptions {
  privateKey: KeyObject;
  directory: MerchantDirectory;
  service: EasyCardService;
  faults: FaultBook;
  clock: SimClock;
  logger: JsonLogger;
}

/**
 * intella's endpoint: opens the encrypted envelope, checks the merchant and its TradeKey, applies the fault the
 * request meets, and seals the answer under the request's AES key.
 */
export class IntellaEndpoint {
  counters: SimCounters = emptyCounters();

  constructor(private readonly options: IntellaEndpointOptions) {}

  resetCounters(): void {
    this.counters = emptyCounters();
  }

  async handle(body: Buffer, res: ServerResponse): Promise<void> {
    const { directory, faults, logger } = this.options;
    this.counters.requests++;
    let opened;
    try {
      opened = openRequest(body, this.options.privateKey, directory.ivs, (plain, iv) => {
        const header = plain.Header as Record<string, unknown> | undefined;
        const mchId = typeof header?.MchId === 'string' ? header.MchId : undefined;
        const merchant = mchId ? directory.merchants.get(mchId) : undefined;
        // an unknown merchant still gets an answer it can read, under the first IV that opens it
        return merchant ? merchant.iv === iv : true;
      });
    } catch (error) {
      const stage = error instanceof EnvelopeOpenError ? error.stage : 'ENVELOPE';
      logger.event('info', 'request could not be decrypted', { stage });
      bump(this.counters.byAnswer, '8003');
      return sendJson(res, 200, this.plainHeader('8003', 'decryption failed'));
    }
    const { plain, aesKey, iv } = opened;
    let request;
    try {
      request = parsePlainRequest(plain);
    } catch (error) {
      const code =
        error instanceof IntellaProtocolError
          ? SERVER_STATUS_FOR_PROTOCOL_ERROR[error.code]
          : '9998';
      bump(this.counters.byAnswer, code);
      return sendJson(
        res,
        200,
        sealResponse(this.plainHeader(code, 'invalid request'), aesKey, iv),
      );
    }
    const { header, data } = request;
    bump(this.counters.byServiceType, header.ServiceType);
    const deviceId = typeof data.DeviceId === 'string' ? data.DeviceId : undefined;
    logger.event('debug', 'request', { request: redactIntella({ Header: header, Data: data }) });
    const fault = faults.take({ serviceType: header.ServiceType, mchId: header.MchId, deviceId });
    if (fault) bump(this.counters.faultsApplied, fault.kind);
    // per-reader counts include every request that reached the simulator, faulted or not
    const target = deviceId ? directory.readers.get(deviceId) : undefined;
    if (target && target.mchId === header.MchId) {
      if (header.ServiceType === 'SignOn') target.signOnRequests++;
      if (header.ServiceType === 'Settlement') target.settlementRequests++;
      if (data.Retry !== undefined && data.Retry !== '0') target.retries++;
    }
    if (fault?.kind === 'no-answer') {
      bump(this.counters.byAnswer, 'no-answer');
      return; // the socket stays open until the client gives up or the simulator closes
    }
    if (fault?.kind === 'slow') await sleep(fault.delayMs ?? 2000);
    if (fault?.kind === 'http-500') {
      bump(this.counters.byAnswer, 'http-500');
      res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end('internal server error');
      return;
    }
    if (fault?.kind === 'decrypt-fail') {
      bump(this.counters.byAnswer, '8003');
      return sendJson(res, 200, this.plainHeader('8003', 'decryption failed'));
    }
    if (fault?.kind === 'bare-status') {
      bump(this.counters.byAnswer, '8003');
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('8003');
      return;
    }
    const merchant = directory.merchants.get(header.MchId);
    const result =
      !merchant || !tradeKeyMatches(header.TradeKey, merchant.tradePassword)
        ? answer('7105', 'TradeKey error')
        : header.Method !== EASYCARD_METHOD
          ? answer('9998', `Method ${header.Method} is not simulated`)
          : this.options.service.serve(header.ServiceType, merchant, data, fault);
    const errorCode = typeof result.data?.ErrorCode === 'string' ? `/${result.data.ErrorCode}` : '';
    bump(this.counters.byAnswer, `${result.statusCode}${errorCode}`);
    const news =
      fault?.kind === 'unknown-values' || fault?.kind === 'unknown-status'
        ? INTELLA_UNKNOWN_VALUES
        : undefined;
    const plainResponse = buildPlainResponse({
      statusCode: result.statusCode,
      statusDesc: result.statusDesc,
      method: header.Method,
      serviceType: header.ServiceType,
      mchId: header.MchId,
      responseTime: new Date(this.options.clock()),
      data: result.data ?? null,
    });
    // fields a newer intella might add: the answer must stay readable
    const response = news
      ? {
          Header: { ...plainResponse.Header, ...news.header },
          Data: { ...(plainResponse.Data as Record<string, unknown> | undefined), ...news.data },
        }
      : plainResponse;
    logger.event('debug', 'answer', { response: redactIntella(response) });
    const sealed = sealResponse(response, aesKey, iv);
    if (fault?.kind === 'escaped-response') {
      return sendJson(res, 200, { Response: escapedEquals(response, aesKey, iv) });
    }
    if (fault?.kind === 'corrupt-response') {
      bump(this.counters.byAnswer, 'corrupt');
      return sendJson(res, 200, { Response: corrupt(sealed.Response) });
    }
    sendJson(res, 200, sealed);
  }

  private plainHeader(statusCode: string, statusDesc: string) {
    return {
      Header: {
        StatusCode: statusCode,
        StatusDesc: statusDesc,
        ResponseTime: formatCreateTime(new Date(this.options.clock())),
      },
    };
  }
}

function bump(table: Record<string, number>, key: string): void {
  table[key] = (table[key] ?? 0) + 1;
}

function emptyCounters(): SimCounters {
  return { requests: 0, byServiceType: {}, byAnswer: {}, faultsApplied: {} };
}
