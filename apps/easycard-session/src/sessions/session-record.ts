import { randomUUID } from 'node:crypto';
import {
  easyCardSessionUsable,
  type EasyCardSessionConfig,
  type EasyCardSessionState,
  type Outcome,
} from '@tillbus/result-codes';
import type { SessionEvent, SessionEventType } from '@tillbus/contracts';
import type { KeyBox, SealedKey } from './key-box';
import type { SettlementWindow } from './settlement-window';

export interface QueuedEvent {
  event: SessionEvent;
  /** Real time it was queued; another replica re-publishes an event left unpublished for long. */
  queuedAt: number;
}

export interface Lease {
  owner: string;
  token: string;
  op: 'signon' | 'settlement';
  /** Real time (ms) after which another replica may take over. */
  until: number;
}

export interface SettlementStatus {
  lastSettledAt: number | null;
  lastAttempt: { at: number; day: string; outcome: Outcome; reason: string } | null;
  /** Consecutive failed attempts. */
  failures: number;
  /** Earliest next attempt after a retryable failure; null when none is pending. */
  retryAt: number | null;
  /** A business day whose settlement failed in a way retrying cannot fix: no more automatic tries that day. */
  gaveUpDay: string | null;
}

/** One reader's session, in KV under its DeviceId. The key is sealed; everything else is plain. */
export interface SessionRecord {
  v: 1;
  deviceId: string;
  mchId: string;
  source: 'discovery' | 'bus';
  registeredAt: number;
  state: EasyCardSessionState;
  lease: Lease | null;
  /** What the last successful SignOn returned (the seed's DeviceID, NewDeviceID, DongleDeviceID). */
  reader: { deviceID?: string; newDeviceId?: string; dongleDeviceId?: string };
  key: SealedKey | null;
  lastFailure: {
    operation: 'signon' | 'settlement';
    outcome: Outcome;
    reason: string;
    at: number;
    /** Which merchant configuration failed; a changed one is worth one more try after a CONFIG_ERROR. */
    configFingerprint: string;
  } | null;
  signOns: number;
  renewals: number;
  firstSignedAt: number | null;
  notices: { expiringFor: number | null; expiredFor: number | null };
  settlement: SettlementStatus;
  outbox: QueuedEvent[];
  updatedAt: number;
}

export interface SessionPolicy {
  renewalMarginMs: number;
  expiringNoticeMs: number;
  leaseMs: number;
  machine: EasyCardSessionConfig;
  settlementEnabled: boolean;
  window: SettlementWindow;
}

/** Kept when JetStream is away for long: the newest events win, the oldest are dropped (and counted). */
export const OUTBOX_LIMIT = 50;

export function newSessionRecord(
  deviceId: string,
  mchId: string,
  source: SessionRecord['source'],
  now: number,
): SessionRecord {
  return {
    v: 1,
    deviceId,
    mchId,
    source,
    registeredAt: now,
    state: { kind: 'unsigned' },
    lease: null,
    reader: {},
    key: null,
    lastFailure: null,
    signOns: 0,
    renewals: 0,
    firstSignedAt: null,
    notices: { expiringFor: null, expiredFor: null },
    settlement: {
      lastSettledAt: null,
      lastAttempt: null,
      failures: 0,
      retryAt: null,
      gaveUpDay: null,
    },
    outbox: [],
    updatedAt: now,
  };
}

export const iso = (epochMs: number | null | undefined) =>
  epochMs === null || epochMs === undefined ? undefined : new Date(epochMs).toISOString();

function signedTimes(state: EasyCardSessionState): { signedAt?: string; expiresAt?: string } {
  switch (state.kind) {
    case 'signed':
    case 'renewing':
      return { signedAt: iso(state.signedAt), expiresAt: iso(state.expiresAt) };
    case 'failed':
      return { signedAt: iso(state.signedAt), expiresAt: iso(state.expiresAt) };
    case 'expired':
      return { expiresAt: iso(state.expiredAt) };
    default:
      return {};
  }
}

export function queueEvent(
  record: SessionRecord,
  type: SessionEventType,
  now: number,
  extra: Partial<SessionEvent> = {},
): SessionRecord {
  const event: SessionEvent = {
    id: randomUUID(),
    type,
    deviceId: record.deviceId,
    mchId: record.mchId,
    at: new Date(now).toISOString(),
    state: record.state.kind,
    ...signedTimes(record.state),
    ...extra,
  };
  const outbox = [...record.outbox, { event, queuedAt: Date.now() }].slice(-OUTBOX_LIMIT);
  return { ...record, outbox };
}

export function leaseLive(record: SessionRecord, realNow: number): boolean {
  return record.lease !== null && record.lease.until > realNow;
}

/** Queues `expired` once per lapsed sign-on when the record has just landed on expired. */
export function noteExpired(record: SessionRecord, now: number): SessionRecord {
  if (record.state.kind !== 'expired' || record.notices.expiredFor === record.state.expiredAt)
    return record;
  const noted = { ...record, notices: { ...record.notices, expiredFor: record.state.expiredAt } };
  return queueEvent(noted, 'expired', now);
}

/** Whether a record's sealed key opens with this replica's key material. */
export type KeyCheck = (record: SessionRecord) => boolean;

export function keyCheck(box: Pick<KeyBox, 'opens'>): KeyCheck {
  return (record) =>
    record.key !== null &&
    box.opens(record.key, { deviceId: record.deviceId, mchId: record.mchId });
}

/** Usable: a valid sign-on, and a key that opens. A sign-on whose key cannot be opened is worth nothing. */
export function sessionUsable(record: SessionRecord, now: number, keyOpens: KeyCheck): boolean {
  return easyCardSessionUsable(record.state, now) && record.key !== null && keyOpens(record);
}

export type Claim =
  { record: SessionRecord; refusal?: undefined } | { record?: undefined; refusal: string };

/** Removes published events from the outbox. */
export function dropPublished(
  record: SessionRecord,
  ids: ReadonlySet<string>,
): SessionRecord | undefined {
  const outbox = record.outbox.filter((queued) => !ids.has(queued.event.id));
  return outbox.length === record.outbox.length ? undefined : { ...record, outbox };
}
