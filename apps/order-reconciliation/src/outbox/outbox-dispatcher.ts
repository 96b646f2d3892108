import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { JsMsg } from '@nats-io/jetstream';
import { HEADERS, type OrderNotifyMessage } from '@tillbus/contracts';
import {
  CLOCK,
  type Clock,
  consumeDurable,
  type Consuming,
  decodeJsonPayload,
  JetStreamOutbox,
  MESSAGING_OPTIONS,
  type MessagingOptions,
  NatsConnectionManager,
  NO_RETRY,
  orderOutboxConsumer,
  type OutboxMessage,
} from '@tillbus/messaging';
import { JsonLogger, newCorrelationId, runWithCorrelation } from '@tillbus/observability';
import {
  deliveryTransition,
  isDeliveryDue,
  type DeliveryPolicy,
  type DeliveryState,
} from '@tillbus/result-codes';
import { ORDER_RECONCILIATION_CONFIG, type OrderReconciliationConfig } from '../config';
import { OrderMetrics } from '../metrics';
import { ORDERS_STREAM, OUTBOX_DEAD_LETTERS } from '../orders/names';
import { notifyMessageOf } from '../orders/order-events';
import {
  deliveryHead,
  isSettled,
  withNotification,
  type NotificationRecord,
  type OrderRecord,
} from '../orders/order-record';
import { OrderStore, StoreAccess } from '../orders/order-store';
import { DELIVERY_POLICY } from '../orders/orders.service';
import { Notifier } from './notifier';

type Verdict = { ack: true } | { ack: false; delayMs: number };

const ACK: Verdict = { ack: true };
/** Steps one outbox message may take (each at most one attempt) before it yields to other work. */
const MAX_STEPS = 8;
/** Redelivery delay after trouble with our own store. */
const TROUBLE_DELAY_MS = 1000;

/**
 * Delivers the outbox (`tillbus.events.orders.notify.>`) to D-Store.
 *
 * - The order's KV record is the truth; an outbox message only says "look at this order". Any replica may take it,
 *   and a redelivered or duplicated message is harmless.
 * - Per order, notifications go strictly in sequence: only the earliest unsettled one (the head) is ever attempted,
 *   so D-Store never receives a later status before an earlier one has been delivered or given up on.
 * - An attempt is leased in KV first (compare-and-set), so two replicas never send the same request at once. A
 *   replica killed mid-attempt leaves a lease that expires; the message comes back after OUTBOX_ACK_WAIT_MS and the
 *   same requestId is sent again, which D-Store de-duplicates.
 * - The result goes through the delivery state machine: S delivered; F failed_final; U, no answer or a timeout
 *   retried with capped exponential backoff (a delayed NAK) until NOTIFY_MAX_ATTEMPTS, then dead_letter. Both
 *   failure ends are published to `tillbus.dlq.TILLBUS_ORDERS.order-reconciliation-outbox` and counted.
 */
@Injectable()
export class OutboxDispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private consuming?: Consuming;
  /** One attempt: a redelivered outbox message publishes its dead letter again. */
  private readonly deadLetters = new JetStreamOutbox(() => this.connection.jetstream(), {
    retry: NO_RETRY,
  });
  running = false;

  constructor(
    private readonly connection: NatsConnectionManager,
    private readonly store: OrderStore,
    private readonly access: StoreAccess,
    private readonly notifier: Notifier,
    private readonly metrics: OrderMetrics,
    private readonly logger: JsonLogger,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(DELIVERY_POLICY) private readonly policy: DeliveryPolicy,
    @Inject(ORDER_RECONCILIATION_CONFIG) private readonly config: OrderReconciliationConfig,
    @Inject(MESSAGING_OPTIONS) private readonly messaging: MessagingOptions,
  ) {}

  private get leaseMs(): number {
    return this.config.NOTIFY_TIMEOUT_MS + 2000;
  }

  async onApplicationBootstrap(): Promise<void> {
    this.consuming = await consumeDurable(
      this.connection,
      orderOutboxConsumer(this.config),
      (msg) => this.process(msg),
      { logger: this.logger },
    );
    this.running = true;
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.running = false;
    await this.consuming?.stop(this.messaging.shutdownGraceMs);
  }

  private process(msg: JsMsg): Promise<void> {
    return runWithCorrelation(newCorrelationId(), async () => {
      const message = readMessage(msg);
      if (!message) {
        this.logger.event('error', 'dropped an unreadable outbox message', {
          subject: msg.subject,
        });
        msg.term();
        return;
      }
      let verdict: Verdict;
      try {
        verdict = await this.drive(message, msg);
      } catch (error) {
        this.logger.event('warn', 'outbox step failed; will retry', {
          requestId: message.requestId,
          error,
        });
        verdict = { ack: false, delayMs: TROUBLE_DELAY_MS };
      }
      if (verdict.ack) msg.ack();
      else msg.nak(Math.max(10, Math.ceil(verdict.delayMs)));
    });
  }

  /** Moves the order's notification queue forward as far as it can now; acks once the message's own one settled. */
  async drive(message: OrderNotifyMessage, msg?: JsMsg): Promise<Verdict> {
    for (let step = 0; step < MAX_STEPS; step++) {
      msg?.working();
      const stored = await this.store.get(message.requestOrderId);
      if (!stored) return ACK;
      const order = stored.order;
      const target = order.notifications.find((n) => n.requestId === message.requestId);
      if (!target) return ACK;
      if (isSettled(target)) await this.publishDeadLetter(order, target);
      const head = deliveryHead(order);
      if (!head) return ACK;
      const now = this.clock.now();
      const wait = waitFor(head, now);
      if (wait > 0) return isSettled(target) ? ACK : { ack: false, delayMs: wait };
      if (!(await this.lease(order, head, now))) continue;
      const event = await this.notifier.send(order, head);
      await this.settleAttempt(order.requestOrderId, head.requestId, event);
    }
    return { ack: false, delayMs: 100 };
  }

  private async lease(order: OrderRecord, head: NotificationRecord, now: number): Promise<boolean> {
    const { changed } = await this.store.update(order.requestOrderId, (current) => {
      const n = current?.notifications.find((x) => x.requestId === head.requestId);
      if (
        !current ||
        !n ||
        isSettled(n) ||
        (n.leaseUntilMs ?? 0) > now ||
        n.delivery.status !== head.delivery.status ||
        n.delivery.attempts !== head.delivery.attempts ||
        n.delivery.redeliveries !== head.delivery.redeliveries
      )
        return undefined;
      return withNotification(current, n.requestId, (x) => ({
        ...x,
        leaseUntilMs: now + this.leaseMs,
      }));
    });
    return changed;
  }

  private async settleAttempt(
    requestOrderId: string,
    requestId: string,
    event: Parameters<typeof deliveryTransition>[1],
  ): Promise<void> {
    let before: DeliveryState | undefined;
    let after: DeliveryState | undefined;
    const { value } = await this.store.update(requestOrderId, (current) => {
      const n = current?.notifications.find((x) => x.requestId === requestId);
      if (!current || !n) return undefined;
      const transition = deliveryTransition(n.delivery, event, this.policy);
      before = n.delivery;
      after = transition.ok ? transition.state : undefined;
      return withNotification(current, requestId, (x) => ({
        ...x,
        leaseUntilMs: undefined,
        delivery: transition.state,
      }));
    });
    if (!value || !after || !before) return;
    const notification = value.notifications.find((x) => x.requestId === requestId)!;
    // The attempt raced a pushOrderChange that skipped this notification: its outcome no longer matters.
    if (notification.skipped) return;
    switch (after.status) {
      case 'delivered':
        this.metrics.notificationsSettled.inc({ outcome: 'delivered' });
        if (notification.skipped === undefined)
          this.logger.event('info', 'notification delivered', {
            requestId,
            orderStatus: notification.orderStatus,
            change: notification.change,
            attempts: after.attempts,
          });
        break;
      case 'retrying':
        this.metrics.notificationRetries.inc();
        this.logger.event('warn', 'notification failed; will retry', {
          requestId,
          attempts: after.attempts,
          retryAt: new Date(after.nextAttemptAtMs).toISOString(),
          failure: after.lastFailure,
        });
        break;
      case 'failed_final':
      case 'dead_letter': {
        const reason = after.status === 'failed_final' ? 'failed_final' : 'max_attempts';
        this.metrics.notificationsSettled.inc({ outcome: after.status });
        this.metrics.notificationsDeadLettered.inc({ reason });
        this.logger.event('error', 'notification dead-lettered', {
          requestId,
          orderStatus: notification.orderStatus,
          change: notification.change,
          status: after.status,
          attempts: after.attempts,
          failure: after.lastFailure,
        });
        await this.publishDeadLetter(value, notification);
        break;
      }
      default:
        break;
    }
  }

  /** Idempotent (message id per round), so a redelivered outbox message can safely call it again. */
  private async publishDeadLetter(order: OrderRecord, n: NotificationRecord): Promise<void> {
    const d = n.delivery;
    if (n.skipped || (d.status !== 'failed_final' && d.status !== 'dead_letter')) return;
    const failure = d.lastFailure;
    const reason =
      d.status === 'failed_final'
        ? `failed_final: D-Store answered ${failure.resultStatus ?? '?'} ${failure.resultCode ?? ''}`.trim()
        : `dead_letter: ${d.attempts} attempts, last ${failure.cause}${failure.resultCode ? ` ${failure.resultCode}` : ''}`;
    const message: OutboxMessage = {
      subject: OUTBOX_DEAD_LETTERS,
      payload: notifyMessageOf(order, n),
      messageId: `${n.requestId}.dlq.r${d.redeliveries}`,
      headers: {
        [HEADERS.deadLetterReason]: reason.slice(0, 512),
        [HEADERS.deadLetterStream]: ORDERS_STREAM,
        [HEADERS.deadLetterDeliveries]: String(d.attempts),
      },
    };
    await this.access.run('publishing a dead letter', async () => {
      const { failed } = await this.deadLetters.send(order.requestOrderId, [message]);
      if (failed) throw failed.error;
    });
  }
}

/** How long until the head may be attempted: a live lease or a scheduled retry; 0 when due now. */
function waitFor(head: NotificationRecord, now: number): number {
  if (head.leaseUntilMs !== undefined && head.leaseUntilMs > now)
    return head.leaseUntilMs - now + 50;
  if (!isDeliveryDue(head.delivery, now) && head.delivery.status === 'retrying')
    return head.delivery.nextAttemptAtMs - now;
  return 0;
}

function readMessage(msg: JsMsg): OrderNotifyMessage | undefined {
  const decoded = decodeJsonPayload(msg.data, undefined);
  if (!decoded.ok) return undefined;
  const value = decoded.value as Partial<OrderNotifyMessage> | undefined;
  return value &&
    typeof value.requestOrderId === 'string' &&
    typeof value.requestId === 'string' &&
    typeof value.seq === 'number'
    ? (value as OrderNotifyMessage)
    : undefined;
}
