import { createHash } from 'node:crypto';
import { canonicalJson } from '@tillbus/messaging';
import type { PushOrderChangeRequest } from '@tillbus/protocols-antom';
import { isPushOrderChangeStatus, type OrderJourneyRefusal } from '@tillbus/result-codes';
import { clip, OrderConflictError } from './errors';
import { applyReport, type OrderRecord } from './order-record';

/**
 * One pushOrderChange applied to an order, as a pure function. A push may carry a status, a delivery status, item
 * edits, a refund, extendInfo and fields no table of ours declares, in any combination; everything but the two ids is
 * kept verbatim in the push's record, which is the order's lifetime memory of that requestId.
 */

/** A safety limit, not D-Store's: an order with more changes than this is refused (PROCESS_FAIL), never stored. */
export const PUSHES_MAX = 200;
/**
 * The order is one KV value, and NATS refuses a message over max_payload (1 MB as shipped) with an error that would
 * read as an outage (U) forever. A push that would grow the order past this is refused instead (PROCESS_FAIL).
 */
export const ORDER_RECORD_MAX_BYTES = 768 * 1024;

export type PushOutcome = 'APPLIED' | 'DUPLICATE' | 'REFUSED';

export interface PushRecord {
  requestId: string;
  /** As D-Store sent it; a value not in push_order_change's list is kept and changes nothing. */
  orderStatus?: string;
  /** Set when orderStatus is a value this version does not know (kept, reported, not applied). */
  unrecognisedStatus?: true;
  outcome: PushOutcome;
  /** Why the journey refused the status, when it did. */
  reason?: OrderJourneyRefusal;
  atMs: number;
  /** SHA-256 of the push's documented content: the same requestId must always carry the same change. */
  fingerprint?: string;
  /** Everything D-Store sent besides requestId, requestOrderId and orderStatus, verbatim. */
  change?: Record<string, unknown>;
}

export type PushRequest = PushOrderChangeRequest & Record<string, unknown>;

export type PushResult =
  | { repeat: true; outcome: PushOutcome; reason?: OrderJourneyRefusal; order: OrderRecord }
  | { repeat: false; outcome: PushOutcome; reason?: OrderJourneyRefusal; order: OrderRecord };

/** The fields push_order_change documents: their values decide whether a repeated requestId is the same push. */
const DOCUMENTED = [
  'orderStatus',
  'deliveryStatus',
  'updatedOrderProducts',
  'refundInfo',
  'extendInfo',
] as const;

export function pushFingerprint(push: PushRequest): string {
  const documented: Record<string, unknown> = {};
  for (const field of DOCUMENTED) if (push[field] !== undefined) documented[field] = push[field];
  return createHash('sha256').update(canonicalJson(documented)).digest('hex');
}

/**
 * Applies `push` to `current`. A requestId seen before (at any time in the order's life) gets its first outcome again
 * when the content matches, and is a conflict otherwise. The status goes through the order journey; the other fields
 * apply whenever the push is not refused.
 */
export function applyPush(current: OrderRecord, push: PushRequest, now: number): PushResult {
  const fingerprint = pushFingerprint(push);
  const prior = current.pushes.find((p) => p.requestId === push.requestId);
  if (prior) {
    // Records written before fingerprints existed carried only a status.
    const same =
      prior.fingerprint === undefined
        ? prior.orderStatus === push.orderStatus && onlyStatus(push)
        : prior.fingerprint === fingerprint;
    if (!same)
      throw new OrderConflictError(
        `requestId ${clip(push.requestId)} was already used for a different change on this order (${describe(prior)})`,
        { field: 'requestId' },
      );
    return {
      repeat: true,
      outcome: prior.outcome,
      ...(prior.reason === undefined ? {} : { reason: prior.reason }),
      order: current,
    };
  }
  if (current.pushes.length >= PUSHES_MAX)
    throw new OrderConflictError(
      `order ${clip(current.requestOrderId)} already has ${PUSHES_MAX} changes from D-Store; more are refused (a safety limit)`,
      { field: 'requestId' },
    );

  const { requestId, requestOrderId: _id, orderStatus, ...change } = push;
  let order = current;
  let outcome: PushOutcome = 'DUPLICATE';
  let reason: OrderJourneyRefusal | undefined;
  if (orderStatus !== undefined && isPushOrderChangeStatus(orderStatus)) {
    const applied = applyReport(current, {
      reported: orderStatus,
      source: 'dstore',
      now,
      ref: requestId,
    });
    order = applied.order;
    if (applied.outcome === 'ADVANCED') outcome = 'APPLIED';
    if (applied.outcome === 'REFUSED') {
      outcome = 'REFUSED';
      reason = applied.reason;
    }
  }
  const carriesMore =
    Object.keys(change).length > 0 ||
    (orderStatus !== undefined && !isPushOrderChangeStatus(orderStatus));
  if (outcome !== 'REFUSED' && carriesMore) {
    outcome = 'APPLIED';
    order = {
      ...order,
      updatedAtMs: now,
      ...(typeof push.deliveryStatus === 'string' ? { deliveryStatus: push.deliveryStatus } : {}),
    };
  }
  const record: PushRecord = {
    requestId,
    ...(orderStatus === undefined ? {} : { orderStatus }),
    ...(orderStatus !== undefined && !isPushOrderChangeStatus(orderStatus)
      ? { unrecognisedStatus: true as const }
      : {}),
    outcome,
    ...(reason === undefined ? {} : { reason }),
    atMs: now,
    fingerprint,
    ...(Object.keys(change).length > 0 ? { change } : {}),
  };
  const next: OrderRecord = { ...order, pushes: [...order.pushes, record] };
  if (Buffer.byteLength(JSON.stringify(next), 'utf8') > ORDER_RECORD_MAX_BYTES)
    throw new OrderConflictError(
      `order ${clip(current.requestOrderId)} would grow past ${ORDER_RECORD_MAX_BYTES} bytes with this change; refused (a safety limit)`,
      { field: 'requestId' },
    );
  return { repeat: false, outcome, ...(reason === undefined ? {} : { reason }), order: next };
}

function onlyStatus(push: PushRequest): boolean {
  return DOCUMENTED.every((field) => field === 'orderStatus' || push[field] === undefined);
}

function describe(prior: PushRecord): string {
  const parts = [
    prior.orderStatus === undefined ? undefined : `orderStatus ${prior.orderStatus}`,
    ...Object.keys(prior.change ?? {}),
  ].filter((p): p is string => p !== undefined);
  return parts.length > 0 ? parts.join(', ') : 'no change';
}
