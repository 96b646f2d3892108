import type { KV } from '@nats-io/kv';
import { EasyCardSessionError, READER_ID } from '@tillbus/contracts';
import { kvJson, updateWithRevision } from '@tillbus/messaging';
import type { JsonLogger } from '@tillbus/observability';
import {
  DEVICE_QUERY_DEVICE_ID,
  isIntellaProtocolError,
  readDeviceList,
} from '@tillbus/protocols-intella';
import { easyCardBackoffDelayMs, type Outcome } from '@tillbus/result-codes';
import type { IntellaClient } from '../vendor/intella-client';
import type { SessionMetrics } from '../metrics';
import { newSessionRecord, type SessionRecord } from './session-record';
import type { SessionRuntime } from './session-runtime';
import type { SessionStore } from './session-store';

export interface DiscoveryRecord {
  lastRunAt: number | null;
  lastResult: {
    at: number;
    outcome: Outcome;
    reason: string;
    readers: number;
    added: number;
  } | null;
  failures: number;
  retryAt: number | null;
  lease: { owner: string; until: number } | null;
}

const discoveryKey = (mchId: string) => `discovery-${mchId}`;

/** Readers enter the sessions bucket here: registered over the bus, or discovered by a merchant's DeviceQuery. */
export class ReaderRegistrationService {
  constructor(
    private readonly runtime: SessionRuntime,
    private readonly store: SessionStore,
    private readonly scheduleBucket: () => KV,
    private readonly client: IntellaClient,
    private readonly metrics: SessionMetrics,
    private readonly logger: JsonLogger,
  ) {}

  private get schedule(): KV {
    return this.scheduleBucket();
  }

  /** Registers a reader over the bus; the scheduler signs it on. Idempotent for the same merchant. */
  async register(deviceId: string, mchId: string | undefined): Promise<SessionRecord> {
    const merchants = this.runtime.merchants;
    let merchant = mchId;
    if (merchant === undefined) {
      if (merchants.size !== 1) throw new EasyCardSessionError('MERCHANT_REQUIRED');
      merchant = [...merchants.keys()][0];
    }
    if (!merchants.has(merchant)) throw new EasyCardSessionError('UNKNOWN_MERCHANT', merchant);
    const created = await this.store.create(
      newSessionRecord(deviceId, merchant, 'bus', this.runtime.clock.now()),
    );
    if (created.record.mchId !== merchant) {
      throw new EasyCardSessionError(
        'READER_CONFLICT',
        `${deviceId} belongs to ${created.record.mchId}`,
      );
    }
    if (created.created)
      this.logger.event('info', 'reader registered', { deviceId, mchId: merchant });
    return created.record;
  }

  /** Whether a merchant's DeviceQuery is due (a KV read; few merchants). */
  async discoveryDue(mchId: string): Promise<boolean> {
    const current = kvJson.decode<DiscoveryRecord>(await this.schedule.get(discoveryKey(mchId)));
    return this.isDiscoveryDue(current, this.runtime.clock.now(), Date.now(), false);
  }

  private isDiscoveryDue(
    current: DiscoveryRecord | undefined,
    now: number,
    realNow: number,
    force: boolean,
  ): boolean {
    if (!current) return true;
    if (current.lease && current.lease.until > realNow) return false;
    if (force) return true;
    if (current.retryAt !== null) return now >= current.retryAt;
    return (
      current.lastRunAt === null || now >= current.lastRunAt + this.runtime.discoveryIntervalMs
    );
  }

  /**
   * DeviceQuery for one merchant, single-flight across replicas, and every listed reader registered. `force`
   * runs it even when the last run is recent (at boot).
   */
  async discover(
    mchId: string,
    force = false,
  ): Promise<{ ran: boolean; added: number; readers: number }> {
    const merchant = this.runtime.merchants.get(mchId);
    if (!merchant) return { ran: false, added: 0, readers: 0 };
    const { clock, replicaId } = this.runtime;
    const key = discoveryKey(mchId);
    const claimed = await updateWithRevision<DiscoveryRecord>(this.schedule, key, (current) => {
      if (!this.isDiscoveryDue(current, clock.now(), Date.now(), force)) return undefined;
      const base: DiscoveryRecord = current ?? {
        lastRunAt: null,
        lastResult: null,
        failures: 0,
        retryAt: null,
        lease: null,
      };
      return {
        ...base,
        lease: { owner: replicaId, until: Date.now() + this.runtime.policy.leaseMs },
      };
    });
    if (!claimed.changed) return { ran: false, added: 0, readers: 0 };
    const result = await this.client.call(merchant, 'DeviceQuery', {
      DeviceId: DEVICE_QUERY_DEVICE_ID,
      Retry: '0',
    });
    let outcome = result.outcome;
    let reason = result.reason;
    let ids: string[] = [];
    if (outcome === 'SUCCESS') {
      try {
        ids = this.readerIds(result.data ?? {});
      } catch (error) {
        outcome = 'UNKNOWN';
        reason = 'RESPONSE_INCOMPLETE';
        this.logger.event('warn', 'DeviceQuery answer has no reader list', {
          mchId,
          field: this.runtime.deviceListField,
          error: isIntellaProtocolError(error) ? error : 'unexpected error',
        });
      }
    }
    let added = 0;
    for (const deviceId of ids) {
      const created = await this.store.create(
        newSessionRecord(deviceId, mchId, 'discovery', clock.now()),
      );
      if (created.created) added++;
      else if (created.record.mchId !== mchId) {
        this.logger.event('warn', 'discovered reader is registered under another merchant', {
          deviceId,
          mchId,
          registeredMchId: created.record.mchId,
        });
      }
    }
    this.metrics.discoveries.inc({ outcome, reason });
    const now = clock.now();
    await updateWithRevision<DiscoveryRecord>(this.schedule, key, (current) => {
      const failures = outcome === 'SUCCESS' ? 0 : (current?.failures ?? 0) + 1;
      const automatic = outcome === 'RETRYABLE' || outcome === 'UNKNOWN';
      return {
        lastRunAt: now,
        lastResult: { at: now, outcome, reason, readers: ids.length, added },
        failures,
        // a configuration error waits for the next interval: retrying sooner would only hammer intella
        retryAt:
          outcome === 'SUCCESS' || !automatic
            ? null
            : now + easyCardBackoffDelayMs(failures, this.runtime.policy.machine),
        lease: null,
      };
    });
    this.logger.event(outcome === 'SUCCESS' ? 'info' : 'warn', 'reader discovery finished', {
      mchId,
      outcome,
      reason,
      readers: ids.length,
      added,
    });
    return { ran: true, added, readers: ids.length };
  }

  private readerIds(data: Record<string, unknown>): string[] {
    const entries = readDeviceList(data, this.runtime.deviceListField);
    const ids: string[] = [];
    for (const entry of entries) {
      const id = typeof entry === 'string' ? entry : entry[this.runtime.deviceListIdField];
      if (typeof id === 'string' && READER_ID.test(id)) ids.push(id);
      else this.logger.event('warn', 'DeviceQuery listed a reader id that cannot be used', {});
    }
    return ids;
  }
}
