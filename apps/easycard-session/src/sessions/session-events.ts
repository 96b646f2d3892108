import { EVENT_SUBJECTS } from '@tillbus/contracts';
import { publishEvent, type NatsConnectionManager } from '@tillbus/messaging';
import type { JsonLogger } from '@tillbus/observability';
import { dropPublished, type SessionRecord } from './session-record';
import type { SessionMetrics } from './session-metrics';
import type { SessionStore } from './session-store';

/** Events wait in the record's outbox this long before another replica publishes them on the writer's behalf. */
export const ORPHAN_EVENT_MS = 5000;

/**
 * The transactional outbox: an event is written into the session record by the same compare-and-set as the state
 * change it reports, then published to JetStream with its id as the message id (a re-publish is stored once), then
 * removed from the record. A replica that dies in between leaves it for the others.
 */
export class SessionEvents {
  constructor(
    private readonly connection: NatsConnectionManager,
    private readonly store: SessionStore,
    private readonly metrics: SessionMetrics,
    private readonly logger: JsonLogger,
  ) {}

  /** Publishes what the record's outbox holds; returns how many went out. */
  async flush(record: SessionRecord | undefined): Promise<number> {
    if (!record || record.outbox.length === 0) return 0;
    const published = new Set<string>();
    const js = this.connection.jetstream();
    for (const { event } of record.outbox) {
      try {
        await publishEvent(js, EVENT_SUBJECTS.easycardSession(record.deviceId), event, {
          messageId: event.id,
        });
        published.add(event.id);
        this.metrics.events.inc({ type: event.type });
      } catch (error) {
        this.metrics.eventFailures.inc();
        this.logger.event('warn', 'cannot publish a session event; it stays queued', {
          deviceId: record.deviceId,
          type: event.type,
          error: String(error),
        });
        break; // keep the order: later events wait for this one
      }
    }
    if (published.size > 0) {
      await this.store.update(record.deviceId, (current) => dropPublished(current, published));
    }
    return published.size;
  }

  /** Records whose events have waited too long (their writer may be gone). */
  orphans(records: SessionRecord[], realNow: number): SessionRecord[] {
    return records.filter(
      (record) =>
        record.outbox.length > 0 && record.outbox[0].queuedAt <= realNow - ORPHAN_EVENT_MS,
    );
  }
}
