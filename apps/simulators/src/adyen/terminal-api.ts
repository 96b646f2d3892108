import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import NexoCrypto from '@adyen/api-library/lib/src/security/nexoCrypto';
import type {
  MessageHeader,
  SaleToPOISecuredMessage,
  SecurityKey,
} from '@adyen/api-library/lib/src/typings/terminal/models';
import { meetHoldAndDelay, type RequestCounts, spoilBody } from '../shared/fleet';
import { parseJsonBody, sendJson } from '../shared/http-body';
import {
  diagnosisAnswer,
  failureAnswer,
  field,
  readDiagnosisAsk,
  type DiagnosisAsk,
  type SimulatedPoi,
} from './diagnosis';
import type { AdyenFaults } from './faults';
import type { PoiStates } from './poi-state';

export interface AdyenRequestRecord {
  poiId: string;
  at: number;
  hostDiagnosis: boolean;
  channel: 'local' | 'cloud';
}

export interface TerminalApiOptions {
  pois: ReadonlyMap<string, SimulatedPoi>;
  states: PoiStates;
  counts: RequestCounts<AdyenRequestRecord>;
  /** Enables the cloud endpoint, which accepts this X-API-Key. */
  cloudApiKey?: string;
  now: () => number;
}

/**
 * The Terminal API as the POIs answer it: locally (`/nexo`, Nexo-encrypted per POI key) and through the cloud
 * stand-in (`/sync`, X-API-Key), both answering diagnoses under the POI's faults.
 */
export class TerminalApi {
  constructor(private readonly options: TerminalApiOptions) {}

  async local(res: ServerResponse, raw: Buffer): Promise<void> {
    const secured = field(parseJsonBody(raw), 'SaleToPOIRequest') as
      SaleToPOISecuredMessage | undefined;
    const poiId = field(field(secured, 'MessageHeader'), 'POIID');
    const poi = typeof poiId === 'string' ? this.options.pois.get(poiId) : undefined;
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
    const answer = await this.diagnose(
      poi,
      readDiagnosisAsk(parseJsonOrUndefined(plain)),
      'local',
      res,
    );
    if (answer === undefined || res.destroyed) return;
    const fault = this.options.states.faultOf(poi.poiId);
    const body = malformedPlain(fault.malformed, JSON.stringify(answer));
    const header = (answer as { SaleToPOIResponse: { MessageHeader: MessageHeader } })
      .SaleToPOIResponse.MessageHeader;
    const sealed = NexoCrypto.encrypt(header, body, key);
    if (fault.badSignature) {
      sealed.SecurityTrailer.Hmac = randomBytes(32).toString('base64');
    }
    return sendBody(res, spoilBody(fault.malformed, JSON.stringify({ SaleToPOIResponse: sealed })));
  }

  async cloud(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
    const { cloudApiKey, pois, states } = this.options;
    if (!cloudApiKey) return sendJson(res, 404, { error: 'the cloud endpoint is not enabled' });
    const refused = () =>
      sendJson(res, 401, {
        status: 401,
        errorCode: '000',
        message: 'HTTP Status Response - Unauthorized',
        errorType: 'security',
      });
    if (req.headers['x-api-key'] !== cloudApiKey) return refused();
    const input = parseJsonOrUndefined(raw.toString('utf8'));
    const ask = readDiagnosisAsk(input);
    const poi = ask.poiId ? pois.get(ask.poiId) : undefined;
    if (!poi) return sendJson(res, 404, { error: 'no simulated POI with this POIID' });
    if (states.faults.of(poi.poiId)?.badSignature) return refused();
    const answer = await this.diagnose(poi, ask, 'cloud', res);
    if (answer === undefined || res.destroyed) return;
    const fault = states.faultOf(poi.poiId);
    return sendBody(
      res,
      spoilBody(fault.malformed, malformedPlain(fault.malformed, JSON.stringify(answer))),
    );
  }

  /** The plain-JSON answer of a POI to a request; undefined means "never answer". */
  private async diagnose(
    poi: SimulatedPoi,
    ask: DiagnosisAsk,
    channel: AdyenRequestRecord['channel'],
    res: ServerResponse,
  ): Promise<object | undefined> {
    const { states, now } = this.options;
    this.options.counts.add(poi.poiId, () => ({
      poiId: poi.poiId,
      at: now(),
      hostDiagnosis: ask.ok && ask.hostDiagnosis,
      channel,
    }));
    const fault = states.faultOf(poi.poiId);
    if (!(await meetHoldAndDelay(fault, res, states.hanging))) return undefined;
    if (!ask.ok) return failureAnswer(ask, 'MessageFormat', ask.problem);
    if (ask.poiId !== poi.poiId) {
      return failureAnswer(ask, 'MessageFormat', 'MessageHeader.POIID is not this terminal');
    }
    // Not documented what a terminal answers to a reused ServiceID; the simulator refuses it as MessageFormat.
    if (!states.firstUseOf(poi.poiId, ask.serviceId)) {
      return failureAnswer(ask, 'MessageFormat', 'ServiceID already used within 48 hours');
    }
    return diagnosisAnswer(poi, fault, ask, states.inTransaction(poi.poiId), now());
  }
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
