import type {
  OrderView,
  PosChangeKind,
  RedeliverResult,
  StuckReason,
  StuckReport,
} from '@tillbus/contracts';
import type { OrderLifecycleEvent } from '@tillbus/contracts/dto';
import { CLOCK, type Clock } from '@tillbus/messaging';
import { Inject, Injectable } from '@nestjs/common';
import { JsonLogger } from '@tillbus/observability';
import type { CreateOrderRequest } from '@tillbus/protocols-antom';
import {
  deliveryTransition,
  POS_LIFECYCLE_KINDS,
  type DeliveryPolicy,
  type OrderJourneyRefusal,
  type PosLifecycleKind,
} from '@tillbus/result-codes';
import { ORDER_RECONCILIATION_CONFIG, type OrderReconciliationConfig } from '../config';
import { OrderMetrics } from '../metrics';
import {
  clip,
  NotRedeliverableError,
  OrderConflictError,
  OrderNotFoundError,
  OrderRefusedError,
} from './errors';
import { KeyedSerializer } from './keyed-serializer';
import { applyChange, isAppliedChangeRef, type ChangeRefusal } from './order-change';
import type { PosChangeEvent } from './pos-change-event';
import { OrderEvents } from './order-events';
import {
  applyReport,
  isSettled,
  newOrderRecord,
  stuckReasons,
  withEventRef,
  withNotification,
  type NotificationRecord,
  type OrderRecord,
} from './order-record';
import { applyPush, type PushOutcome, type PushRequest, type PushResult } from './order-push';
import { OrderStore } from './order-store';
import { orderView } from './order-view';
import { pickForRedelivery } from './redelivery';

export const DELIVERY_POLICY = Symbol('DELIVERY_POLICY');

export function deliveryPolicyOf(config: OrderReconciliationConfig): DeliveryPolicy {
  return {
    maxAttempts: config.NOTIFY_MAX_ATTEMPTS,
    baseDelayMs: config.NOTIFY_BASE_DELAY_MS,
    maxDelayMs: config.NOTIFY_MAX_DELAY_MS,
    multiplier: config.NOTIFY_BACKOFF_MULTIPLIER,
    jitterRatio: config.NOTIFY_JITTER_RATIO,
  };
}

export type LifecycleResult = 'applied' | 'duplicate' | 'refused';

/**
 * Everything that changes or reads an order: D-Store's createOrder and pushOrderChange, the POS lifecycle events, the
 * inquiry, and the operator's bus API. Each change is one compare-and-set on the order's KV entry; what must follow
 * (forwarding to the POS, queuing a notification) is published after the write and is idempotent, so a retry after
 * any crash completes it.
 */
@Injectable()
export class OrdersService {
  private readonly serial = new KeyedSerializer();

  constructor(
    private readonly store: OrderStore,
    private readonly events: OrderEvents,
    private readonly metrics: OrderMetrics,
    private readonly logger: JsonLogger,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(DELIVERY_POLICY) private readonly policy: DeliveryPolicy,
    @Inject(ORDER_RECONCILIATION_CONFIG) private readonly config: OrderReconciliationConfig,
  ) {}

  /**
   * Stores a new order (idempotent on requestOrderId), then forwards it to the POS. Resolves only once both are
   * durable; a repeat with the same content forwards again (de-duplicated) and succeeds, other content is a conflict.
   */
  async createOrder(request: CreateOrderRequest): Promise<OrderRecord> {
    const candidate = newOrderRecord(request, this.clock.now());
    const stored = await this.store.create(candidate);
    const order = stored.created ? candidate : stored.existing;
    if (!stored.created && order.fingerprint !== candidate.fingerprint) {
      throw new OrderConflictError(
        `requestOrderId ${clip(request.requestOrderId)} was already used for an order with different content`,
        { field: 'requestOrderId' },
      );
    }
    if (stored.created) this.metrics.statusChanges.inc({ status: order.status, source: 'dstore' });
    await this.events.created(order);
    return order;
  }

  /**
   * Applies D-Store's channel change: its status through the journey, and its delivery status, item edits, refund and
   * any other field as sent. Idempotent on requestId for the order's whole life: a repeat gets the first answer
   * again, the same requestId with another change is a conflict. Pushes of one order run one after another in this
   * replica; across replicas the store's compare-and-set retries until it wins, so contention is never an error.
   */
  pushOrderChange(request: PushRequest): Promise<{ outcome: PushOutcome; order: OrderRecord }> {
    return this.serial.run(request.requestOrderId, () => this.applyPushInOrder(request));
  }

  private async applyPushInOrder(
    request: PushRequest,
  ): Promise<{ outcome: PushOutcome; order: OrderRecord }> {
    const now = this.clock.now();
    let result: PushResult | undefined;
    const { value } = await this.store.update(request.requestOrderId, (current) => {
      if (!current) throw new OrderNotFoundError(request.requestOrderId);
      result = applyPush(current, request, now);
      return result.repeat || result.order === current ? undefined : result.order;
    });
    const order = value!;
    const { outcome, reason, repeat } = result!;
    const statusMoved = order.history.at(-1)?.ref === request.requestId;
    if (!repeat && (statusMoved || outcome === 'REFUSED'))
      this.count('dstore', outcome, order.history.at(-1)!.status, reason);
    if (!repeat && outcome === 'APPLIED') {
      const skipped = order.notifications.filter((n) => n.skipped?.atMs === now).length;
      if (skipped > 0) this.metrics.notificationsSettled.inc({ outcome: 'skipped' }, skipped);
    }
    if (outcome === 'APPLIED') {
      // Also on a repeat: the first attempt may have crashed between the write and the publish.
      const pushed = order.pushes.find((p) => p.requestId === request.requestId)!;
      await this.events.channelChanged(order, request, pushed.atMs);
    }
    if (outcome === 'REFUSED') {
      throw new OrderRefusedError(
        reason ?? 'FROM_FINAL',
        `order ${clip(request.requestOrderId)} is ${order.status}; ${request.orderStatus} cannot follow (${reason === 'REGRESSION' ? 'a regression' : 'the order is final'})`,
      );
    }
    return { outcome, order };
  }

  async inquire(requestOrderId: string): Promise<OrderRecord> {
    const stored = await this.store.get(requestOrderId);
    if (!stored) throw new OrderNotFoundError(requestOrderId);
    return stored.order;
  }

  /**
   * Applies one POS lifecycle event. A redelivered event (same eventId, or same stream sequence without one) and a
   * repeated status are duplicates; a regression is refused and recorded, never overwriting the newer state. Every
   * notification not yet settled gets its outbox message (again), which covers a crash right after the write.
   */
  applyLifecycleEvent(
    kind: PosLifecycleKind,
    event: OrderLifecycleEvent,
    streamSequence: number,
  ): Promise<LifecycleResult> {
    return this.serial.run(event.requestOrderId, () =>
      this.applyInOrder(kind, event, streamSequence),
    );
  }

  private async applyInOrder(
    kind: PosLifecycleKind,
    event: OrderLifecycleEvent,
    streamSequence: number,
  ): Promise<LifecycleResult> {
    const reported = POS_LIFECYCLE_KINDS[kind];
    const ref = event.eventId ?? `seq:${streamSequence}`;
    const now = this.clock.now();
    let result = 'duplicate' as LifecycleResult;
    let reason: OrderJourneyRefusal | undefined;
    const { value } = await this.store.update(event.requestOrderId, (current) => {
      if (!current) throw new OrderNotFoundError(event.requestOrderId);
      reason = undefined;
      if (current.eventRefs.includes(ref)) {
        result = 'duplicate';
        return undefined;
      }
      const applied = applyReport(current, {
        reported,
        source: 'pos',
        now,
        ref,
        ...(event.extendInfo === undefined ? {} : { extendInfo: event.extendInfo }),
      });
      if (applied.outcome === 'DUPLICATE') {
        result = 'duplicate';
        return undefined;
      }
      result = applied.outcome === 'ADVANCED' ? 'applied' : 'refused';
      if (applied.outcome === 'REFUSED') reason = applied.reason;
      return withEventRef(applied.order, ref);
    });
    const order = value!;
    this.count(
      'pos',
      result === 'applied' ? 'APPLIED' : result === 'refused' ? 'REFUSED' : 'DUPLICATE',
      reported,
      reason,
    );
    if (result === 'refused') {
      this.logger.event('warn', 'refused a POS status change', {
        kind,
        reported,
        current: order.status,
        reason,
        ref,
      });
    }
    for (const notification of order.notifications) {
      if (!isSettled(notification)) await this.events.notify(order, notification);
    }
    return result;
  }

  /**
   * Applies one POS change (short order number, ready time, refund, merchant delivery status) and queues its
   * notifyOrderChange in the same write. A redelivered event is a duplicate (refunds are remembered by event for the
   * order's life, so one is never paid twice); a refused change is recorded in the order with its reason.
   */
  applyPosChange(
    kind: PosChangeKind,
    event: PosChangeEvent,
    streamSequence: number,
  ): Promise<LifecycleResult> {
    return this.serial.run(event.requestOrderId, () =>
      this.applyChangeInOrder(kind, event, streamSequence),
    );
  }

  private async applyChangeInOrder(
    kind: PosChangeKind,
    event: PosChangeEvent,
    streamSequence: number,
  ): Promise<LifecycleResult> {
    const ref = event.eventId ?? `seq:${streamSequence}`;
    const now = this.clock.now();
    let result = 'duplicate' as LifecycleResult;
    let refusal: { reason: ChangeRefusal; message: string } | undefined;
    const { value } = await this.store.update(event.requestOrderId, (current) => {
      if (!current) throw new OrderNotFoundError(event.requestOrderId);
      refusal = undefined;
      if (isAppliedChangeRef(current, ref)) {
        result = 'duplicate';
        return undefined;
      }
      const applied = applyChange(
        current,
        {
          kind,
          change: event.change,
          ref,
          now,
          ...(event.requestedBy === undefined ? {} : { requestedBy: event.requestedBy }),
          ...(event.reason === undefined ? {} : { reason: event.reason }),
        },
        { onCancelled: this.config.REFUND_ON_CANCELLED },
      );
      if (applied.outcome === 'DUPLICATE') {
        result = 'duplicate';
        return undefined;
      }
      if (applied.outcome === 'REFUSED') refusal = applied;
      result = applied.outcome === 'APPLIED' ? 'applied' : 'refused';
      return withEventRef(applied.order, ref);
    });
    const order = value!;
    if (refusal) {
      this.metrics.refusedChanges.inc({ kind, reason: refusal.reason });
      this.logger.event('warn', 'refused a POS change', {
        kind,
        reason: refusal.reason,
        message: refusal.message,
        ref,
        ...(event.requestedBy === undefined ? {} : { requestedBy: event.requestedBy }),
      });
    } else if (result === 'applied' && kind === 'refund') {
      this.logger.event('info', 'refund recorded', {
        ref,
        requestedBy: event.requestedBy,
        amount: event.change.refundAmount,
      });
    }
    for (const notification of order.notifications) {
      if (!isSettled(notification)) await this.events.notify(order, notification);
    }
    return result;
  }

  async get(requestOrderId: string): Promise<OrderView> {
    return orderView(await this.inquire(requestOrderId));
  }

  async stuck(olderThanMs = this.config.STUCK_AFTER_MS, limit = 100): Promise<StuckReport> {
    const now = this.clock.now();
    const found: Array<{ order: OrderRecord; reasons: StuckReason[] }> = [];
    const scanned = await this.store.scan((order) => {
      const reasons = stuckReasons(order, now, olderThanMs);
      if (reasons.length > 0) found.push({ order, reasons });
    });
    found.sort((a, b) => a.order.createdAtMs - b.order.createdAtMs);
    return {
      olderThanMs,
      scanned,
      truncated: found.length > limit,
      orders: found.slice(0, limit).map(({ order, reasons }) => ({
        requestOrderId: order.requestOrderId,
        posOrderId: order.posOrderId,
        status: order.status,
        createdAt: new Date(order.createdAtMs).toISOString(),
        updatedAt: new Date(order.updatedAtMs).toISOString(),
        reasons,
        undelivered: order.notifications
          .filter((n) => n.skipped === undefined && n.delivery.status !== 'delivered')
          .map((n) => ({
            requestId: n.requestId,
            ...(n.orderStatus === undefined ? {} : { orderStatus: n.orderStatus }),
            ...(n.change === undefined ? {} : { change: n.change }),
            deliveryStatus: n.delivery.status,
            attempts: n.delivery.attempts,
          })),
      })),
    };
  }

  /**
   * Starts a new round of delivery for a notification that ended failed_final or dead_letter (by default the
   * latest such one). Refused when D-Store already got a later status of the same order: delivering the older one
   * now would move D-Store backwards. A notification still queued only gets its outbox message again.
   */
  async redeliver(requestOrderId: string, requestId?: string): Promise<RedeliverResult> {
    const now = this.clock.now();
    let requeued = false;
    let chosen: NotificationRecord | undefined;
    const { value } = await this.store.update(requestOrderId, (current) => {
      if (!current) throw new OrderNotFoundError(requestOrderId);
      requeued = false;
      const target = pickForRedelivery(current, requestId);
      chosen = target;
      if (target.delivery.status === 'pending' || target.delivery.status === 'retrying')
        return undefined;
      const transition = deliveryTransition(
        target.delivery,
        { type: 'REDELIVER', now },
        this.policy,
      );
      if (!transition.ok)
        throw new NotRedeliverableError(
          `notification ${target.requestId} is ${target.delivery.status}: ${transition.reason}`,
        );
      requeued = true;
      return withNotification(current, target.requestId, (n) => ({
        ...n,
        leaseUntilMs: undefined,
        delivery: transition.state,
      }));
    });
    const order = value!;
    const notification = order.notifications.find((n) => n.requestId === chosen!.requestId)!;
    if (requeued) {
      this.metrics.redeliveries.inc();
      this.logger.event('info', 'notification redelivered by an operator', {
        requestId: notification.requestId,
        orderStatus: notification.orderStatus,
        change: notification.change,
        redeliveries: notification.delivery.redeliveries,
      });
    }
    await this.events.notify(order, notification);
    return {
      requestOrderId: order.requestOrderId,
      requestId: notification.requestId,
      ...(notification.orderStatus === undefined ? {} : { orderStatus: notification.orderStatus }),
      ...(notification.change === undefined ? {} : { change: notification.change }),
      deliveryStatus: notification.delivery.status,
      requeued,
    };
  }

  private count(
    source: 'dstore' | 'pos',
    outcome: PushOutcome,
    status: string,
    reason?: OrderJourneyRefusal,
  ): void {
    if (outcome === 'APPLIED') this.metrics.statusChanges.inc({ status, source });
    if (outcome === 'REFUSED')
      this.metrics.refusedTransitions.inc({ source, reason: reason ?? 'FROM_FINAL' });
  }
}
