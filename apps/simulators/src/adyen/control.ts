import type { IncomingMessage, ServerResponse } from 'node:http';
import { answerControl, controlSegments } from '../shared/control';
import { fleetControl, type RequestCounts } from '../shared/fleet';
import { parseJsonBody, sendJson } from '../shared/http-body';
import type { SimulatedPoi } from './diagnosis';
import { FaultError } from './faults';
import type { PoiStates } from './poi-state';
import type { AdyenRequestRecord } from './terminal-api';

export const CONTROL_PREFIX = '/_sim/';

export interface AdyenControlTarget {
  pois: ReadonlyMap<string, SimulatedPoi>;
  states: PoiStates;
  counts: RequestCounts<AdyenRequestRecord>;
  /** Also zeroes the duplicate ServiceIDs. */
  resetCounters(): void;
}

/**
 * The control API under /_sim/ (apps/simulators/src/adyen/README.md): the fleet routes every fleet has, plus the
 * POIs' state, the counters with duplicate ServiceIDs, and transactions.
 */
export function adyenControl(
  req: IncomingMessage,
  res: ServerResponse,
  raw: Buffer,
  target: AdyenControlTarget,
): Promise<void> {
  const { pois, states, counts } = target;
  const parts = controlSegments(req.url, CONTROL_PREFIX);
  return answerControl(req, res, 'apps/simulators/src/adyen/README.md', () => {
    if (req.method === 'GET' && parts[0] === 'terminals' && parts.length === 1) {
      return sendJson(res, 200, {
        terminals: [...pois.values()].map((poi) => ({
          poiId: poi.poiId,
          kind: poi.kind,
          faults: states.faults.get(poi.poiId),
          inTransaction: states.inTransaction(poi.poiId),
          requests: counts.of(poi.poiId),
        })),
      });
    }
    if (req.method === 'GET' && parts[0] === 'counters') {
      return sendJson(res, 200, {
        total: counts.total(),
        duplicateServiceIds: states.duplicateServiceIds,
        byTerminal: counts.byTerminal(),
      });
    }
    if (parts[0] === 'terminals' && parts[2] === 'transaction' && parts.length === 3) {
      const poiId = parts[1];
      if (req.method === 'POST') {
        const body = parseJsonBody(raw) as { durationMs?: unknown };
        const duration = body.durationMs;
        if (duration !== undefined && (!Number.isInteger(duration) || (duration as number) < 1)) {
          throw new FaultError('durationMs must be a positive integer');
        }
        states.startTransaction(poiId, duration as number | undefined);
        return sendJson(res, 200, { inTransaction: true });
      }
      if (req.method === 'DELETE') {
        states.endTransaction(poiId);
        return sendJson(res, 200, { inTransaction: false });
      }
    }
    return fleetControl(req.method, parts, raw, res, {
      faults: states.faults,
      counters: {
        total: () => counts.total(),
        records: () => counts.records,
        reset: target.resetCounters,
      },
      recording: counts.recording,
    });
  });
}
