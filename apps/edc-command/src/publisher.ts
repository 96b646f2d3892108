import type { JetStreamClient } from '@nats-io/jetstream';
import { EVENT_SUBJECTS, type EdcPublicEvent } from '@tillbus/contracts';
import { publishEvent } from '@tillbus/messaging';
import type { JsonLogger } from '@tillbus/observability';
import type { EdcMetrics } from './metrics';

const RETRY_DELAYS_MS = [50, 250, 1_000, 5_000];

/**
 * Publishes the public events of a command on JetStream, in order, with `Nats-Msg-Id <deviceId>:<requestId>:<seq>`
 * so publishing them again (after a take-over) stores them once within the stream's duplicate window.
 */
export class EventPublisher {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly js: () => JetStreamClient,
    private readonly logger: JsonLogger,
    private readonly metrics: EdcMetrics,
  ) {}

  /** Sends the events now (in order on the connection) and resolves when the stream has them, retrying failures. */
  publish(events: readonly EdcPublicEvent[]): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    const work = Promise.all(events.map((event) => this.publishOne(event))).then(() => undefined);
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
    return work;
  }

  private async publishOne(event: EdcPublicEvent): Promise<void> {
    const subject = EVENT_SUBJECTS.edc(event.deviceId, event.requestId);
    const messageId = `${event.deviceId}:${event.requestId}:${event.seq}`;
    for (let attempt = 0; ; attempt++) {
      try {
        await publishEvent(this.js(), subject, event, { messageId, timeoutMs: 5_000 });
        return;
      } catch (error) {
        if (attempt >= RETRY_DELAYS_MS.length) {
          this.metrics.eventPublishFailures.inc();
          this.logger.event('error', 'could not publish a command event', {
            deviceId: event.deviceId,
            requestId: event.requestId,
            seq: event.seq,
            type: event.type,
            error,
          });
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAYS_MS[attempt]));
      }
    }
  }

  /** Waits (bounded) for publishes in progress, for shutdown. */
  async settle(graceMs: number): Promise<void> {
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      new Promise((resolve) => setTimeout(resolve, graceMs).unref()),
    ]);
  }
}
