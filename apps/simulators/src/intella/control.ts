import type { IncomingMessage, ServerResponse } from 'node:http';
import { answerControl, controlSegments } from '../shared/control';
import { parseJsonBody, sendJson } from '../shared/http-body';
import type { MerchantDirectory } from './directory';
import type { IntellaEndpoint } from './endpoint';
import { FaultSpecError, parseFaultSpec, type FaultBook } from './faults';

export const CONTROL_PREFIX = '/_control';

export interface IntellaControlTarget {
  directory: MerchantDirectory;
  endpoint: IntellaEndpoint;
  faults: FaultBook;
  publicKeyPem: string;
  resetCounters(): void;
}

/**
 * The control API under /_control/ (apps/simulators/src/intella/README.md): state, counters, the public key, the
 * issued keys, faults and readers.
 */
export function intellaControl(
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  target: IntellaControlTarget,
): Promise<void> {
  const { directory, endpoint, faults } = target;
  const method = req.method ?? 'GET';
  const parts = controlSegments(req.url, `${CONTROL_PREFIX}/`);
  const route = parts.join('/');
  return answerControl(req, res, 'apps/simulators/src/intella/README.md', () => {
    if (method === 'GET' && route === 'state') {
      return sendJson(res, 200, {
        merchants: [...directory.merchants.values()].map((m) => ({ mchId: m.mchId, iv: m.iv })),
        readers: directory.readerStats(),
        faults: faults.list(),
        counters: endpoint.counters,
      });
    }
    if (method === 'GET' && route === 'counters')
      return sendJson(res, 200, { ...endpoint.counters, readers: directory.readerStats() });
    if (method === 'POST' && route === 'counters/reset') {
      target.resetCounters();
      return sendJson(res, 200, { ok: true });
    }
    if (method === 'GET' && route === 'public-key') {
      res.writeHead(200, { 'Content-Type': 'application/x-pem-file' });
      res.end(target.publicKeyPem);
      return;
    }
    if (method === 'GET' && route === 'issued-keys')
      return sendJson(res, 200, directory.issuedKeys());
    if (parts[0] === 'faults') {
      if (method === 'GET' && parts.length === 1) return sendJson(res, 200, faults.list());
      if (method === 'POST' && parts.length === 1)
        return sendJson(res, 201, faults.add(parseFaultSpec(parseJsonBody(body))));
      if (method === 'DELETE' && parts.length === 1) {
        faults.clear();
        return sendJson(res, 200, { ok: true });
      }
      if (method === 'DELETE' && parts.length === 2) {
        const removed = faults.remove(Number(parts[1]));
        return sendJson(res, removed ? 200 : 404, { ok: removed });
      }
    }
    if (parts[0] === 'readers') {
      if (method === 'POST' && parts.length === 1) {
        const input = parseJsonBody(body) as { mchId?: unknown; deviceId?: unknown };
        if (typeof input.mchId !== 'string' || typeof input.deviceId !== 'string')
          throw new FaultSpecError('expected {"mchId": string, "deviceId": string}');
        directory.addReader(input.mchId, input.deviceId);
        return sendJson(res, 201, { ok: true });
      }
      if (method === 'DELETE' && parts.length === 2) {
        const removed = directory.removeReader(parts[1]);
        return sendJson(res, removed ? 200 : 404, { ok: removed });
      }
    }
  });
}
