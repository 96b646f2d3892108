import { Injectable } from '@nestjs/common';
import {
  isDStoreResultCode,
  type AntomResultStatus,
  type DStoreResultCode,
} from '@tillbus/result-codes';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The D-Store API a request was for; `unknown` for any other path. */
export type EdgeApiLabel = 'createOrder' | 'inquireOrderDetail' | 'pushOrderChange' | 'unknown';

/** What one notifyOrderChange attempt produced: D-Store's code, or why there was no readable answer. */
export type AttemptResultLabel =
  | DStoreResultCode
  | 'OTHER_CODE'
  | 'NETWORK_ERROR'
  | 'TIMEOUT'
  | 'UNREADABLE_RESPONSE'
  | 'BAD_SIGNATURE';

/**
 * Why the edge refused a request or a connection before it was proven to come from D-Store (or, for
 * client_rate_limit, because D-Store itself sent too much). Bounded: this list is the whole label set.
 */
export const EDGE_REFUSAL_REASONS = [
  'source_rate_limit',
  'access_denied',
  'invalid_signature',
  'client_rate_limit',
  'body_too_large',
  'unreadable_body',
  'client_aborted',
  'timeout',
  'bad_request',
  'connection_cap',
] as const;

export type EdgeRefusalReason = (typeof EDGE_REFUSAL_REASONS)[number];

const PREFIX = 'tillbus_order_reconciliation_';

/**
 * Every metric of the service. Labels are bounded by construction: API names, result codes and statuses from the
 * vendor tables, signature failure reasons, event kinds. Never an order, request or Client-Id.
 */
@Injectable()
export class OrderMetrics {
  readonly dstoreRequests: Counter<'api' | 'result_status' | 'result_code'>;
  readonly dstoreRequestDuration: Histogram<'api'>;
  readonly signatureFailures: Counter<'direction' | 'reason'>;
  readonly edgeRefusals: Counter<'reason'>;
  readonly notificationAttempts: Counter<'result'>;
  readonly notificationRetries: Counter;
  readonly notificationsSettled: Counter<'outcome'>;
  readonly notificationsDeadLettered: Counter<'reason'>;
  readonly redeliveries: Counter;
  readonly lifecycleEvents: Counter<'kind' | 'result'>;
  readonly refusedTransitions: Counter<'source' | 'reason'>;
  readonly refusedChanges: Counter<'kind' | 'reason'>;
  readonly statusChanges: Counter<'status' | 'source'>;
  readonly orders: Gauge<'status'>;
  readonly ordersWithUndelivered: Gauge;

  private readonly requestChildren = new Map<string, Counter.Internal>();
  private readonly durationChildren = new Map<string, Histogram.Internal<'api'>>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.dstoreRequests = new Counter({
      name: `${PREFIX}dstore_requests_total`,
      help: 'Requests D-Store made to the edge, by API and by the result we answered (status S/F/U and code).',
      labelNames: ['api', 'result_status', 'result_code'],
      registers,
    });
    this.dstoreRequestDuration = new Histogram({
      name: `${PREFIX}dstore_request_duration_seconds`,
      help: 'Time from receiving a D-Store request to sending our signed answer.',
      labelNames: ['api'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.signatureFailures = new Counter({
      name: `${PREFIX}signature_failures_total`,
      help: 'Signatures refused: D-Store requests (direction=request) and D-Store answers to notifyOrderChange (direction=response), by reason.',
      labelNames: ['direction', 'reason'],
      registers,
    });
    this.edgeRefusals = new Counter({
      name: `${PREFIX}edge_refusals_total`,
      help: 'Requests and connections the D-Store edge refused before they cost a signed answer, by reason (see docs/services/order-reconciliation.md).',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of EDGE_REFUSAL_REASONS) this.edgeRefusals.inc({ reason }, 0);
    this.notificationAttempts = new Counter({
      name: `${PREFIX}notification_attempts_total`,
      help: "notifyOrderChange attempts, by D-Store's result code or by why no readable answer came.",
      labelNames: ['result'],
      registers,
    });
    this.notificationRetries = new Counter({
      name: `${PREFIX}notification_retries_total`,
      help: 'notifyOrderChange attempts that failed transiently and were scheduled again with backoff.',
      registers,
    });
    this.notificationsSettled = new Counter({
      name: `${PREFIX}notifications_total`,
      help: 'Notifications that reached an end, by outcome: delivered, failed_final, dead_letter, or skipped (D-Store itself changed the order since).',
      labelNames: ['outcome'],
      registers,
    });
    this.notificationsDeadLettered = new Counter({
      name: `${PREFIX}notifications_dead_lettered_total`,
      help: 'Notifications dead-lettered (alert): reason=failed_final (D-Store answered F) or max_attempts (retries exhausted).',
      labelNames: ['reason'],
      registers,
    });
    this.redeliveries = new Counter({
      name: `${PREFIX}redeliveries_total`,
      help: 'Dead-lettered or finally failed notifications an operator sent again.',
      registers,
    });
    this.lifecycleEvents = new Counter({
      name: `${PREFIX}lifecycle_events_total`,
      help: 'POS order lifecycle events consumed, by kind and result (applied, duplicate, refused, unknown_order, invalid).',
      labelNames: ['kind', 'result'],
      registers,
    });
    this.refusedChanges = new Counter({
      name: `${PREFIX}refused_changes_total`,
      help: 'POS changes refused (over-refunds, refunds on cancelled orders, changes to a closed order), by kind and reason.',
      labelNames: ['kind', 'reason'],
      registers,
    });
    this.refusedTransitions = new Counter({
      name: `${PREFIX}refused_transitions_total`,
      help: 'Reported statuses refused by the order journey (regressions and changes after a final status), by source and reason.',
      labelNames: ['source', 'reason'],
      registers,
    });
    this.statusChanges = new Counter({
      name: `${PREFIX}status_changes_total`,
      help: 'Orders entering a status, by status and source (dstore or pos).',
      labelNames: ['status', 'source'],
      registers,
    });
    this.orders = new Gauge({
      name: `${PREFIX}orders`,
      help: 'Orders in KV by status (cluster-wide: every replica reports the same total, aggregate with max).',
      labelNames: ['status'],
      registers,
    });
    this.ordersWithUndelivered = new Gauge({
      name: `${PREFIX}orders_with_undelivered_notifications`,
      help: 'Orders with a notification not yet delivered: pending, retrying, failed_final or dead_letter (cluster-wide; aggregate with max).',
      registers,
    });
  }

  /** Hot path: label children resolved once per combination. */
  answered(api: EdgeApiLabel, status: AntomResultStatus, code: DStoreResultCode, seconds: number) {
    const key = `${api}\u0000${code}`;
    let counter = this.requestChildren.get(key);
    if (!counter) {
      counter = this.dstoreRequests.labels(api, status, code);
      this.requestChildren.set(key, counter);
    }
    counter.inc();
    let histogram = this.durationChildren.get(api);
    if (!histogram) {
      histogram = this.dstoreRequestDuration.labels(api);
      this.durationChildren.set(api, histogram);
    }
    histogram.observe(seconds);
  }

  attempt(code: string | undefined, noAnswer?: AttemptResultLabel): void {
    const label: AttemptResultLabel = noAnswer ?? (isDStoreResultCode(code) ? code : 'OTHER_CODE');
    this.notificationAttempts.inc({ result: label });
  }
}
