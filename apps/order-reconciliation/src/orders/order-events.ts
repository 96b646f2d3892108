import { Injectable } from '@nestjs/common';
import {
  EVENT_SUBJECTS,
  type OrderChannelChangedEvent,
  type OrderCreatedEvent,
  type OrderNotifyMessage,
  orderSubjectToken,
} from '@tillbus/contracts';
import { JetStreamOutbox, NatsConnectionManager, NO_RETRY } from '@tillbus/messaging';
import { OWN_EVENT_KINDS } from './names';
import { orderDigest } from './order-key';
import type { PushRequest } from './order-push';
import type { NotificationRecord, OrderRecord } from './order-record';
import { StoreAccess } from './order-store';

/** The outbox message (and dead letter) of a notification: which one, and what it tells D-Store. */
export function notifyMessageOf(
  order: OrderRecord,
  notification: NotificationRecord,
): OrderNotifyMessage {
  return {
    requestOrderId: order.requestOrderId,
    requestId: notification.requestId,
    ...(notification.orderStatus === undefined ? {} : { orderStatus: notification.orderStatus }),
    ...(notification.change === undefined ? {} : { change: notification.change }),
    seq: notification.seq,
  };
}

/**
 * Publishes to TILLBUS_ORDERS and waits for the stream's ack, so a published event is durable. Every message has a
 * JetStream message id, so publishing it again after a crash or a retry is stored once (within the stream's
 * duplicate window; consumers are idempotent beyond it). One attempt each: a failure reaches the caller as
 * StoreUnavailableError, and the caller's retry (D-Store's, or a redelivery) publishes again.
 */
@Injectable()
export class OrderEvents {
  private readonly outbox = new JetStreamOutbox(() => this.connection.jetstream(), {
    retry: NO_RETRY,
  });

  constructor(
    private readonly connection: NatsConnectionManager,
    private readonly access: StoreAccess,
  ) {}

  created(order: OrderRecord): Promise<void> {
    const event: OrderCreatedEvent = {
      requestOrderId: order.requestOrderId,
      posOrderId: order.posOrderId,
      createdAt: new Date(order.createdAtMs).toISOString(),
      order: order.details,
    };
    return this.publish(
      OWN_EVENT_KINDS.created,
      order,
      event,
      `created.${orderSubjectToken(order.requestOrderId)}`,
    );
  }

  channelChanged(order: OrderRecord, push: PushRequest, changedAtMs: number): Promise<void> {
    const { requestOrderId: _id, ...carried } = push;
    const event: OrderChannelChangedEvent = {
      ...carried,
      requestOrderId: order.requestOrderId,
      posOrderId: order.posOrderId,
      requestId: push.requestId,
      changedAt: new Date(changedAtMs).toISOString(),
    };
    return this.publish(
      OWN_EVENT_KINDS.channelChanged,
      order,
      event,
      `push.${orderSubjectToken(order.requestOrderId)}.${orderDigest(push.requestId)}`,
    );
  }

  /** One message per round of a notification: a redeliver starts a new round, so it is not de-duplicated away. */
  notify(order: OrderRecord, notification: NotificationRecord): Promise<void> {
    const message = notifyMessageOf(order, notification);
    return this.publish(
      OWN_EVENT_KINDS.notify,
      order,
      message,
      `${notification.requestId}.r${notification.delivery.redeliveries}`,
    );
  }

  private async publish(
    kind: string,
    order: OrderRecord,
    body: unknown,
    messageId: string,
  ): Promise<void> {
    const subject = EVENT_SUBJECTS.order(kind, orderSubjectToken(order.requestOrderId));
    await this.access.run(`publishing ${subject}`, async () => {
      const { failed } = await this.outbox.send(orderSubjectToken(order.requestOrderId), [
        { subject, payload: body, messageId },
      ]);
      if (failed) throw failed.error;
    });
  }
}
