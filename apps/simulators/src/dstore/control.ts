import type { IncomingMessage, ServerResponse } from 'node:http';
import { answerControl, controlSegments } from '../shared/control';
import { parseJsonBody, sendJson } from '../shared/http-body';
import type { DStoreFaults } from './faults';
import { deliveryOnlyPush, itemEditPush, sampleOrder, type SampleOrderKind } from './orders';
import type { DStoreSimulator } from './simulator';

export const CONTROL_PREFIX = '/_sim/';

/**
 * The control API under /_sim/ (apps/simulators/src/dstore/README.md): GET state and buyer views, POST faults,
 * release, reset and the calls D-Store makes, from raw bodies or from sample orders and pushes.
 */
export function dstoreControl(
  simulator: DStoreSimulator,
  state: () => unknown,
): (req: IncomingMessage, res: ServerResponse, raw: Buffer) => Promise<void> {
  let pushes = 0;
  return (req, res, raw) => {
    const path = controlSegments(req.url, CONTROL_PREFIX).join('/');
    return answerControl(req, res, 'apps/simulators/src/dstore/README.md', async () => {
      const input = parseJsonBody(raw) as Record<string, unknown>;
      if (req.method === 'GET' && path === 'state') return sendJson(res, 200, state());
      if (req.method === 'GET' && path.startsWith('buyer/')) {
        const view = simulator.buyer(decodeURIComponent(path.slice('buyer/'.length)));
        return view ? sendJson(res, 200, view) : sendJson(res, 404, { error: 'no such order' });
      }
      if (req.method !== 'POST')
        return sendJson(res, 405, { error: 'use GET /_sim/state or POST' });
      switch (path) {
        case 'faults':
          return sendJson(res, 200, simulator.setFaults(input as Partial<DStoreFaults>));
        case 'release':
          return sendJson(res, 200, { released: simulator.release() });
        case 'reset':
          simulator.reset();
          return sendJson(res, 200, state());
        case 'createOrder':
          return sendJson(res, 200, await simulator.createOrder(input));
        case 'pushOrderChange':
          return sendJson(res, 200, await simulator.pushOrderChange(input));
        case 'order':
          return sendJson(
            res,
            200,
            await simulator.createOrder(
              sampleOrder(requiredId(input.requestOrderId), orderKind(input.serviceType)),
            ),
          );
        case 'push-delivery':
          return sendJson(
            res,
            200,
            await simulator.pushOrderChange(
              deliveryOnlyPush(
                requiredId(input.requestOrderId),
                optionalId(input.requestId) ?? `sim-push-${++pushes}`,
                optionalId(input.deliveryStatus),
              ),
            ),
          );
        case 'push-items':
          return sendJson(
            res,
            200,
            await simulator.pushOrderChange(
              itemEditPush(
                requiredId(input.requestOrderId),
                optionalId(input.requestId) ?? `sim-push-${++pushes}`,
              ),
            ),
          );
        case 'inquireOrderDetail':
          return sendJson(
            res,
            200,
            await simulator.inquireOrderDetail(String(input.requestOrderId ?? '')),
          );
        case 'lost-notification':
          return sendJson(
            res,
            200,
            await simulator.lostNotification(
              String(input.requestOrderId ?? ''),
              typeof input.timeoutMs === 'number' ? input.timeoutMs : undefined,
            ),
          );
      }
    });
  };
}

function requiredId(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0)
    throw new Error('requestOrderId is required');
  return value;
}

function optionalId(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0)
    throw new Error('requestId and deliveryStatus must be non-empty strings when given');
  return value;
}

function orderKind(value: unknown): SampleOrderKind {
  if (value === undefined || value === 'DELIVERY') return 'DELIVERY';
  if (value === 'PICKUP') return 'PICKUP';
  throw new Error('serviceType must be DELIVERY or PICKUP');
}
