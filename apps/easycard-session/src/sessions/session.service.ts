import { randomUUID } from 'node:crypto';
import type { KV } from '@nats-io/kv';
import { EasyCardSessionError, READER_ID } from '@tillbus/contracts';
import { type Clock, kvJson, updateWithRevision } from '@tillbus/messaging';
import type { JsonLogger } from '@tillbus/observability';
import {
  DEVICE_QUERY_DEVICE_ID,
  isIntellaProtocolError,
  readDeviceList,
} from '@tillbus/protocols-intella';
import {
  EASYCARD_SESSION_FAILURES,
  easyCardBackoffDelayMs,
  easyCardSessionUsable,
  renewalDue,
  type Outcome,
} from '@tillbus/result-codes';
import type { IntellaCallResult, IntellaClient } from '../vendor/intella-client';
import { KeyBoxError, type KeyBox } from './key-box';
import type { ResolvedMerchant } from '../vendor/merchants';
import { maintain, replaceUnreadableKey } from './session-maintenance';
import {
  newSessionRecord,
  keyCheck,
  sessionUsable,
  type KeyCheck,
  type SessionPolicy,
  type SessionRecord,
} from './session-record';
import { claimSettlement, completeSettlement } from './session-settlement';
import { claimScheduledSignOn, claimSignOn, completeSignOn } from './session-sign-on';
import type { SessionEvents } from './session-events';
import type { SessionMetrics } from '../metrics';
import type { SessionStore } from './session-store';

export interface SessionRuntime {
  clock: Clock;
  merchants: Map<string, ResolvedMerchant>;
  keyBox: KeyBox;
  policy: SessionPolicy;
  /** This replica, as lease owner. */
  replicaId: string;
  discoveryIntervalMs: number;
  deviceListField: string;
  deviceListIdField: string;
}

export interface AttemptResult {
  attempted: boolean;
  /** Why no attempt was made: IN_PROGRESS, NOT_FOUND, ALREADY_SIGNED_ON, NOT_DUE, or a machine refusal. */
  refusal?: string;
  outcome?: Outcome;
  reason?: string;
  record?: SessionRecord;
}

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

export interface KeyRelease {
  deviceId: string;
  mchId: string;
  /** NewAESKey as intella issued it. Sensitive. */
  newAesKey: string;
  newDeviceId: string | null;
  deviceID: string | null;
  dongleDeviceId: string | null;
  signedAt: string;
  expiresAt: string;
}

const discoveryKey = (mchId: string) => `discovery-${mchId}`;

/** Sign-on, settlement, discovery, registration and key release for one replica. */
export class SessionService {
  private readonly fingerprints = new Map<string, string>();
  /** Service time at this replica's start: keys sealed later come from replicas with newer key material. */
  private readonly startedAt: number;
  /** Whether a record's sealed key opens with this replica's key material (false when it holds none). */
  readonly keyOpens: KeyCheck;

  constructor(
    private readonly runtime: SessionRuntime,
    private readonly store: SessionStore,
    private readonly scheduleBucket: () => KV,
    private readonly events: SessionEvents,
    private readonly client: IntellaClient,
    private readonly metrics: SessionMetrics,
    private readonly logger: JsonLogger,
  ) {
    this.startedAt = runtime.clock.now();
    this.keyOpens = keyCheck(runtime.keyBox);
    for (const merchant of runtime.merchants.values()) {
      this.fingerprints.set(
        merchant.mchId,
        runtime.keyBox.fingerprint([
          merchant.mchId,
          merchant.url,
          merchant.tradeKey,
          merchant.iv,
          merchant.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
        ]),
      );
    }
  }

  private get schedule(): KV {
    return this.scheduleBucket();
  }

  /** A keyed digest of the merchant's configuration: it changes when an operator fixes a secret. */
  fingerprint(mchId: string): string {
    return this.fingerprints.get(mchId) ?? 'unconfigured';
  }

  get policy(): SessionPolicy {
    return this.runtime.policy;
  }

  /** Whether the scheduler should replace this record's key now (a cheap check on the cached record). */
  keyNeedsReplacing(record: SessionRecord): boolean {
    return (
      replaceUnreadableKey(
        record,
        this.runtime.clock.now(),
        Date.now(),
        this.keyOpens,
        this.startedAt,
        this.fingerprint(record.mchId),
      ) !== undefined
    );
  }

  /**
   * A reader whose key cannot be opened holds a worthless sign-on: it is recorded as failed (KEY_UNREADABLE,
   * counted) and signed on again at once.
   */
  async replaceKey(deviceId: string): Promise<AttemptResult> {
    const now = this.runtime.clock.now();
    const replaced = await this.store.update(deviceId, (record) =>
      replaceUnreadableKey(
        record,
        now,
        Date.now(),
        this.keyOpens,
        this.startedAt,
        this.fingerprint(record.mchId),
      ),
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
    return this.signOn(deviceId, 'scheduled');
  }

  /** Time-driven bookkeeping on one record (expiry, notices, stale leases), then its events. */
  async maintain(deviceId: string): Promise<SessionRecord | undefined> {
    const now = this.runtime.clock.now();
    const result = await this.store.update(deviceId, (record) =>
      maintain(record, now, Date.now(), this.runtime.policy, this.fingerprint(record.mchId)),
    );
    if (result.changed) await this.events.flush(result.record);
    return result.record;
  }

  /**
   * One SignOn for a reader, if this replica can claim it. `scheduled`: only when due, judged on the fresh record.
   * `operator`: overrides the backoff and operator-only blocks, but leaves alone a reader holding a valid sign-on
   * that is not due; `operator-force` signs on regardless.
   */
  async signOn(
    deviceId: string,
    mode: 'scheduled' | 'operator' | 'operator-force',
  ): Promise<AttemptResult> {
    const { clock, policy, replicaId } = this.runtime;
    const now = clock.now();
    const token = randomUUID();
    let refusal: string | undefined;
    const claimed = await this.store.update(deviceId, (record) => {
      const realNow = Date.now();
      const fingerprint = this.fingerprint(record.mchId);
      if (mode === 'scheduled') {
        const claim = claimScheduledSignOn(record, now, realNow, policy, fingerprint, {
          owner: replicaId,
          token,
        });
        refusal = claim.refusal;
        return claim.record;
      }
      if (
        mode === 'operator' &&
        sessionUsable(record, now, this.keyOpens) &&
        !renewalDue(record.state, now, policy.renewalMarginMs)
      ) {
        refusal = 'ALREADY_SIGNED_ON';
        return undefined;
      }
      const claim = claimSignOn(record, now, realNow, policy, fingerprint, {
        owner: replicaId,
        token,
        operator: true,
      });
      refusal = claim.refusal;
      return claim.record;
    });
    if (!claimed.changed || !claimed.record) {
      return {
        attempted: false,
        refusal: claimed.record ? (refusal ?? 'NOT_DUE') : 'NOT_FOUND',
        record: claimed.record,
      };
    }
    const record = claimed.record;
    const renewal = record.state.kind === 'renewing';
    const result = await this.callIntella(record, 'SignOn');
    const key = result.data?.NewAESKey;
    const effective =
      result.outcome === 'SUCCESS' && (typeof key !== 'string' || key === '')
        ? { outcome: 'UNKNOWN' as const, reason: 'RESPONSE_INCOMPLETE' }
        : { outcome: result.outcome, reason: result.reason };
    this.metrics.signOns.inc(effective);
    if (renewal) this.metrics.renewals.inc({ outcome: effective.outcome });
    const at = clock.now();
    const done = await this.store.update(deviceId, (current) =>
      completeSignOn(
        current,
        token,
        { ...effective, data: result.data },
        at,
        this.fingerprint(current.mchId),
        (plain, signedAt) =>
          this.runtime.keyBox.seal(plain, { deviceId, mchId: current.mchId, signedAt }),
      ),
    );
    this.logger.event(effective.outcome === 'SUCCESS' ? 'info' : 'warn', 'sign-on finished', {
      deviceId,
      mchId: record.mchId,
      renewal,
      outcome: effective.outcome,
      reason: effective.reason,
      tries: result.tries,
      state: done.record?.state.kind,
      recorded: done.changed,
    });
    await this.events.flush(done.record);
    return { attempted: true, ...effective, record: done.record };
  }

  /** One Settlement for a reader, if it is due and this replica can claim it. */
  async settle(deviceId: string): Promise<AttemptResult> {
    const { clock, policy, replicaId } = this.runtime;
    const now = clock.now();
    const token = randomUUID();
    let refusal: string | undefined;
    const claimed = await this.store.update(deviceId, (record) => {
      const claim = claimSettlement(
        record,
        now,
        Date.now(),
        policy,
        this.fingerprint(record.mchId),
        {
          owner: replicaId,
          token,
        },
      );
      refusal = claim.refusal;
      return claim.record;
    });
    if (!claimed.changed || !claimed.record)
      return { attempted: false, refusal: refusal ?? 'NOT_FOUND' };
    const result = await this.callIntella(claimed.record, 'Settlement');
    this.metrics.settlements.inc({ outcome: result.outcome, reason: result.reason });
    const at = clock.now();
    const done = await this.store.update(deviceId, (current) =>
      completeSettlement(current, token, result, at, policy),
    );
    this.logger.event(result.outcome === 'SUCCESS' ? 'info' : 'warn', 'settlement finished', {
      deviceId,
      mchId: claimed.record.mchId,
      outcome: result.outcome,
      reason: result.reason,
    });
    await this.events.flush(done.record);
    return { attempted: true, outcome: result.outcome, reason: result.reason, record: done.record };
  }

  private async callIntella(
    record: SessionRecord,
    serviceType: 'SignOn' | 'Settlement',
  ): Promise<IntellaCallResult> {
    const merchant = this.runtime.merchants.get(record.mchId);
    if (!merchant) {
      return {
        outcome: EASYCARD_SESSION_FAILURES.UNKNOWN_MERCHANT.outcome,
        reason: 'UNKNOWN_MERCHANT',
        data: null,
        tries: 0,
        retryLimitReached: false,
      };
    }
    return this.client.call(merchant, serviceType, { DeviceId: record.deviceId, Retry: '0' });
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

  /** The key for a reader with a valid sign-on. The only place NewAESKey leaves its sealed form. */
  async releaseKey(deviceId: string): Promise<KeyRelease> {
    const record = await this.store.get(deviceId);
    if (!record) {
      this.metrics.keyReleases.inc({ result: 'not_found' });
      throw new EasyCardSessionError('NOT_FOUND', deviceId);
    }
    const state = record.state;
    const now = this.runtime.clock.now();
    if (
      !easyCardSessionUsable(state, now) ||
      record.key === null ||
      !('expiresAt' in state) ||
      state.expiresAt === null
    ) {
      this.metrics.keyReleases.inc({ result: 'not_usable' });
      throw new EasyCardSessionError('SESSION_NOT_USABLE', `state ${state.kind}`, {
        state: state.kind,
      });
    }
    let newAesKey: string;
    try {
      newAesKey = this.runtime.keyBox.open(record.key, { deviceId, mchId: record.mchId });
    } catch (error) {
      this.metrics.keyReleases.inc({ result: 'unavailable' });
      this.logger.event('error', 'cannot open a stored reader key', {
        deviceId,
        error: error instanceof KeyBoxError ? error : 'unexpected error',
      });
      // the POS is waiting for a key: do not leave the replacement to the next tick
      void this.replaceKey(deviceId).catch((replaceError: unknown) =>
        this.logger.event('warn', 'replacing an unreadable key failed', {
          deviceId,
          error: replaceError,
        }),
      );
      throw new EasyCardSessionError('KEY_UNAVAILABLE');
    }
    this.metrics.keyReleases.inc({ result: 'released' });
    this.logger.event('info', 'reader key released', { deviceId });
    return {
      deviceId,
      mchId: record.mchId,
      newAesKey,
      newDeviceId: record.reader.newDeviceId ?? null,
      deviceID: record.reader.deviceID ?? null,
      dongleDeviceId: record.reader.dongleDeviceId ?? null,
      signedAt: new Date(record.key.signedAt).toISOString(),
      expiresAt: new Date(state.expiresAt).toISOString(),
    };
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
