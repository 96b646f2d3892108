import type { IncomingMessage, ServerResponse } from 'node:http';
import { answerControl, controlSegments } from '../shared/control';
import {
  fleetControl,
  type FleetCounters,
  type RequestCounts,
  type TerminalFaults,
} from '../shared/fleet';
import { sendJson } from '../shared/http-body';
import type { AntomRequestRecord } from './diagnosis-endpoint';
import type { AntomFaults } from './faults';

export const CONTROL_PREFIX = '/_sim/';

export interface AntomControlTarget {
  serials: readonly string[];
  faults: TerminalFaults<AntomFaults>;
  counts: RequestCounts<AntomRequestRecord>;
  counters: FleetCounters<AntomRequestRecord>;
}

/** The control API under /_sim/ (apps/simulators/src/antom/README.md): the fleet routes, terminals and counters. */
export function antomControl(
  req: IncomingMessage,
  res: ServerResponse,
  raw: Buffer,
  { serials, faults, counts, counters }: AntomControlTarget,
): Promise<void> {
  const parts = controlSegments(req.url, CONTROL_PREFIX);
  return answerControl(req, res, 'apps/simulators/src/antom/README.md', () => {
    if (req.method === 'GET' && parts[0] === 'terminals' && parts.length === 1) {
      return sendJson(res, 200, {
        terminals: serials.map((serial) => ({
          serial,
          faults: faults.get(serial),
          requests: counts.of(serial),
        })),
      });
    }
    if (req.method === 'GET' && parts[0] === 'counters') {
      return sendJson(res, 200, { total: counts.total(), byTerminal: counts.byTerminal() });
    }
    return fleetControl(req.method, parts, raw, res, {
      faults,
      counters,
      recording: counts.recording,
    });
  });
}
