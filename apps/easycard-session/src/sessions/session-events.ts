import { EVENT_SUBJECTS } from '@tillbus/contracts';
import { JetStreamOutbox, type NatsConnectionManager, NO_RETRY } from '@tillbus/messaging';
import type { JsonLogger } from '@tillbus/observability';
import { dropPublished, type SessionRecord } from './session-record';
import type { SessionMetrics } from '../metrics';
import type { SessionStore } from './session-store';

/** Events wait in the record's outbox this long before another replica publishes them on the writer's behalf. */
export const ORPHAN_EVENT_MS = 5000;

/**
 * The transactional outbox: an event is written into the session record by the same compare-and-set as the state
 * change it reports, then published to JetStream with its id as the message id (a re-publish is stored once), then
 * removed from the record. A replica that dies in between leaves it for the others.
 */
export class SessionEvents {
  /** One attempt per flush: what fails stays queued in the record, for the next flush or another replica. */
  private readonly outbox = new JetStreamOutbox(() => this.connection.jetstream(), {
    retry: NO_RETRY,
  });

  constructor(
    private readonly connection: NatsConnectionManager,
    private readonly store: SessionStore,
    private readonly metrics: SessionMetrics,
    private readonly logger: JsonLogger,
  ) {}

  /** Publishes what the record's outbox holds, in order; returns how many went out. */
  async flush(record: SessionRecord | undefined): Promise<number> {
    if (!record || record.outbox.length === 0) return 0;
    const subject = EVENT_SUBJECTS.easycardSession(record.deviceId);
    const { published, failed } = await this.outbox.send(
      record.deviceId,
      record.outbox.map(({ event }) => ({ subject, payload: event, messageId: event.id })),
    );
    for (const { payload } of published) {
      this.metrics.events.inc({ type: payload.type });
    }
    if (failed) {
      this.metrics.eventFailures.inc();
      this.logger.event('warn', 'cannot publish a session event; it stays queued', {
        deviceId: record.deviceId,
        type: failed.message.payload.type,
        error: failed.error,
      });
    }
    if (published.length > 0) {
      const ids = new Set(published.map((message) => message.messageId));
      await this.store.update(record.deviceId, (current) => dropPublished(current, ids));
    }
    return published.length;
  }

  /** Records whose events have waited too long (their writer may be gone). */
  orphans(records: SessionRecord[], realNow: number): SessionRecord[] {
    return records.filter(
      (record) =>
        record.outbox.length > 0 && record.outbox[0].queuedAt <= realNow - ORPHAN_EVENT_MS,
    );
  }
}
