import { CLOCK, type Clock } from '@tillbus/messaging';
import { Inject, Injectable } from '@nestjs/common';
import { JsonLogger } from '@tillbus/observability';
import {
  DSTORE_CODE_FOR_SIGNATURE_FAILURE,
  type AntomSignatureFailure,
} from '@tillbus/protocols-antom';
import type { Counter } from 'prom-client';
import { ORDER_RECONCILIATION_CONFIG, type OrderReconciliationConfig } from '../config';
import { OrderMetrics, type EdgeRefusalReason } from '../metrics';

/** A reason is logged at least this often while refusals of it keep coming, even below REFUSAL_LOG_EVERY. */
export const REFUSAL_LOG_INTERVAL_MS = 60_000;

/**
 * Every refusal of the edge goes here: counted in `edge_refusals_total{reason}`, and logged sampled, so a flood
 * costs a counter increment per request, not a log line. Per reason, a line is written for the first refusal,
 * then once REFUSAL_LOG_EVERY more have come or a minute has passed (at the next one); it carries the count since
 * the previous line. `detail` is one of our own bounded words (a signature failure reason), never caller text.
 */
@Injectable()
export class EdgeRefusals {
  private readonly every: number;
  private readonly state = new Map<
    EdgeRefusalReason,
    { counter: Counter.Internal; pending: number; loggedAtMs: number }
  >();

  constructor(
    @Inject(ORDER_RECONCILIATION_CONFIG) config: OrderReconciliationConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly metrics: OrderMetrics,
    private readonly logger: JsonLogger,
  ) {
    this.every = config.REFUSAL_LOG_EVERY;
  }

  record(reason: EdgeRefusalReason, detail?: string): void {
    let entry = this.state.get(reason);
    if (!entry) {
      entry = {
        counter: this.metrics.edgeRefusals.labels(reason),
        pending: 0,
        loggedAtMs: Number.NEGATIVE_INFINITY,
      };
      this.state.set(reason, entry);
    }
    entry.counter.inc();
    entry.pending++;
    const now = this.clock.now();
    if (entry.pending < this.every && now - entry.loggedAtMs < REFUSAL_LOG_INTERVAL_MS) return;
    this.logger.event('info', 'D-Store edge refused requests', {
      reason,
      count: entry.pending,
      ...(detail === undefined ? {} : { lastDetail: detail }),
    });
    entry.pending = 0;
    entry.loggedAtMs = now;
  }

  /** A request whose Client-Id or signature failed: also counted in signature_failures_total, as before. */
  signatureFailure(failure: AntomSignatureFailure): void {
    this.metrics.signatureFailures.inc({ direction: 'request', reason: failure });
    this.record(
      DSTORE_CODE_FOR_SIGNATURE_FAILURE[failure] === 'ACCESS_DENIED'
        ? 'access_denied'
        : 'invalid_signature',
      failure,
    );
  }
}
