import type { JetStreamClient } from '@nats-io/jetstream';
import { type EdcPublicEvent, EVENT_SUBJECTS } from '@tillbus/contracts';
import { JetStreamOutbox, type OutboxFailure } from '@tillbus/messaging';
import type { JsonLogger } from '@tillbus/observability';
import type { EdcMetrics } from '../metrics';

/**
 * Publishes the public events of a command on JetStream, in `seq` order, with `Nats-Msg-Id
 * <deviceId>:<requestId>:<seq>` so publishing them again (after a take-over) stores them once within the stream's
 * duplicate window. Each event is retried on its own (once, then after 50, 250, 1,000 and 5,000 ms).
 */
export class EventPublisher {
  private readonly outbox: JetStreamOutbox;

  constructor(
    js: () => JetStreamClient,
    private readonly logger: JsonLogger,
    private readonly metrics: EdcMetrics,
  ) {
    this.outbox = new JetStreamOutbox(js);
  }

  /** Queues the events behind the command's earlier ones and resolves when the stream has them, or they gave up. */
  async publish(events: readonly EdcPublicEvent[]): Promise<void> {
    // One send per event: an event that gives up is counted and logged, and must not hold back the later ones
    // (the outbox holds back the rest of a batch); the outbox still sends each only after the one before settled.
    const sends = events.map(async (event) => {
      const { failed } = await this.outbox.send(`${event.deviceId}:${event.requestId}`, [
        {
          subject: EVENT_SUBJECTS.edc(event.deviceId, event.requestId),
          payload: event,
          messageId: `${event.deviceId}:${event.requestId}:${event.seq}`,
        },
      ]);
      if (failed) this.reportGaveUp(failed);
    });
    await Promise.all(sends);
  }

  /** Waits (bounded) for publishes in progress, for shutdown. */
  settle(graceMs: number): Promise<void> {
    return this.outbox.settle(graceMs);
  }

  private reportGaveUp({ message, error }: OutboxFailure<EdcPublicEvent>): void {
    const event = message.payload;
    this.metrics.eventPublishFailures.inc();
    this.logger.event('error', 'could not publish a command event', {
      deviceId: event.deviceId,
      requestId: event.requestId,
      seq: event.seq,
      type: event.type,
      error,
    });
  }
}
