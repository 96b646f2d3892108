import type { JsonLogger } from '@tillbus/observability';
import type { SessionMetrics } from '../metrics';
import type { SessionEvents } from './session-events';
import type { SessionKeyMaterial } from './session-key-material';
import { maintain, replaceUnreadableKey } from './session-maintenance';
import type { SessionRecord } from './session-record';
import type { AttemptResult, SessionRuntime } from './session-runtime';
import type { SessionStore } from './session-store';
import type { SignOnService } from './sign-on.service';

/** Time-driven bookkeeping on stored records, and replacing keys this replica cannot open. */
export class SessionMaintenanceService {
  constructor(
    private readonly runtime: SessionRuntime,
    private readonly keys: SessionKeyMaterial,
    private readonly store: SessionStore,
    private readonly events: SessionEvents,
    private readonly signOns: SignOnService,
    private readonly metrics: SessionMetrics,
    private readonly logger: JsonLogger,
  ) {}

  /** Whether the scheduler should replace this record's key now (a cheap check on the cached record). */
  keyNeedsReplacing(record: SessionRecord): boolean {
    return this.unreadableKeyReplaced(record, this.runtime.clock.now()) !== undefined;
  }

  /**
   * A reader whose key cannot be opened holds a worthless sign-on: it is recorded as failed (KEY_UNREADABLE,
   * counted) and signed on again at once.
   */
  async replaceKey(deviceId: string): Promise<AttemptResult> {
    const now = this.runtime.clock.now();
    const replaced = await this.store.update(deviceId, (record) =>
      this.unreadableKeyReplaced(record, now),
    );
    if (!replaced.changed || !replaced.record) {
      return { attempted: false, refusal: replaced.record ? 'NOT_DUE' : 'NOT_FOUND' };
    }
    this.metrics.unreadableKeys.inc();
    this.logger.event('warn', 'stored reader key does not open; signing on again', {
      deviceId,
      mchId: replaced.record.mchId,
    });
    await this.events.flush(replaced.record);
    return this.signOns.signOn(deviceId, 'scheduled');
  }

  /** Time-driven bookkeeping on one record (expiry, notices, stale leases), then its events. */
  async maintain(deviceId: string): Promise<SessionRecord | undefined> {
    const now = this.runtime.clock.now();
    const result = await this.store.update(deviceId, (record) =>
      maintain(record, now, Date.now(), this.runtime.policy, this.keys.fingerprint(record.mchId)),
    );
    if (result.changed) await this.events.flush(result.record);
    return result.record;
  }

  private unreadableKeyReplaced(record: SessionRecord, now: number): SessionRecord | undefined {
    return replaceUnreadableKey(
      record,
      now,
      Date.now(),
      this.keys.keyOpens,
      this.keys.startedAt,
      this.keys.fingerprint(record.mchId),
    );
  }
}
