import { randomUUID } from 'node:crypto';
import type { SessionEvent, SessionEventType, SessionView } from '@tillbus/contracts';
import {
  EASYCARD_SESSION_FAILURES,
  SETTLEMENT_BLOCK_REASON,
  easyCardBackoffDelayMs,
  easyCardSessionBlock,
  easyCardSessionExpiry,
  easyCardSessionReportedKind,
  easyCardSessionTransition,
  easyCardSessionUsable,
  nextSignOnAt,
  renewalDue,
  type EasyCardSessionConfig,
  type EasyCardSessionState,
  type Outcome,
} from '@tillbus/result-codes';
import type { KeyBox, SealedKey } from '../key-box';
import {
  businessDay,
  inSettlementWindow,
  windowStart,
  type SettlementWindow,
} from './settlement-window';

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

const iso = (epochMs: number | null | undefined) =>
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

function queue(
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
function noteExpired(record: SessionRecord, now: number): SessionRecord {
  if (record.state.kind !== 'expired' || record.notices.expiredFor === record.state.expiredAt)
    return record;
  const noted = { ...record, notices: { ...record.notices, expiredFor: record.state.expiredAt } };
  return queue(noted, 'expired', now);
}

function applyFailure(
  record: SessionRecord,
  failure: { outcome: Exclude<Outcome, 'SUCCESS'>; reason: string },
  now: number,
  fingerprint: string,
): SessionRecord {
  const result = easyCardSessionTransition(record.state, {
    type: 'SIGN_ON_FAILED',
    now,
    ...failure,
  });
  let next: SessionRecord = {
    ...record,
    state: result.state,
    lease: null,
    lastFailure: { operation: 'signon', ...failure, at: now, configFingerprint: fingerprint },
    updatedAt: now,
  };
  const retryAt =
    result.state.kind === 'failed' || result.state.kind === 'expired'
      ? (result.state.failure?.retryAt ?? null)
      : null;
  next = queue(next, 'failed', now, {
    operation: 'signon',
    outcome: failure.outcome,
    reason: failure.reason,
    retryAt: retryAt === null ? null : iso(retryAt),
  });
  return noteExpired(next, now);
}

/**
 * Time-driven bookkeeping: a stale lease (its replica died) is taken over, expiry is applied, and `expiring` and
 * `expired` are queued once each. Returns undefined when nothing changes.
 */
export function maintain(
  record: SessionRecord,
  now: number,
  realNow: number,
  policy: SessionPolicy,
  fingerprint: string,
): SessionRecord | undefined {
  let next = record;
  if (next.lease !== null && next.lease.until <= realNow) {
    const { outcome, meaning: _meaning } = EASYCARD_SESSION_FAILURES.LEASE_EXPIRED;
    if (
      next.lease.op === 'signon' &&
      (next.state.kind === 'signing' || next.state.kind === 'renewing')
    ) {
      next = applyFailure(next, { outcome, reason: 'LEASE_EXPIRED' }, now, fingerprint);
    } else {
      next = {
        ...next,
        lease: null,
        settlement: {
          ...next.settlement,
          lastAttempt: {
            at: now,
            day: businessDay(now, policy.window.offsetMinutes),
            outcome,
            reason: 'LEASE_EXPIRED',
          },
          retryAt: now,
        },
      };
    }
  }
  // an attempt in flight decides the state itself; expiry waits for its result (at most one lease)
  if (!leaseLive(next, realNow) && ['signed', 'renewing', 'failed'].includes(next.state.kind)) {
    const ticked = easyCardSessionTransition(next.state, { type: 'CLOCK_TICK', now });
    if (ticked.ok && ticked.state.kind !== next.state.kind) {
      next = noteExpired({ ...next, state: ticked.state, updatedAt: now }, now);
    }
  }
  const expiresAt = easyCardSessionExpiry(next.state);
  if (
    expiresAt !== null &&
    next.state.kind !== 'expired' &&
    now >= expiresAt - policy.expiringNoticeMs &&
    now < expiresAt &&
    next.notices.expiringFor !== expiresAt
  ) {
    next = queue(
      { ...next, notices: { ...next.notices, expiringFor: expiresAt } },
      'expiring',
      now,
    );
  }
  return next === record ? undefined : { ...next, updatedAt: now };
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

/**
 * A held sign-on whose key does not open (new or rotated key material, or a changed record) as a failure that signs
 * on again at once, reason KEY_UNREADABLE. The key is dropped: nothing can open it. Undefined when nothing applies.
 * A key sealed after `notBefore` (this replica's start) is left alone: it comes from a replica with newer key
 * material (a rolling rotation), and replacing it would make two key generations re-sign each other's readers.
 */
export function replaceUnreadableKey(
  record: SessionRecord,
  now: number,
  realNow: number,
  keyOpens: KeyCheck,
  notBefore: number,
  fingerprint: string,
): SessionRecord | undefined {
  if (record.key === null || leaseLive(record, realNow) || record.key.signedAt > notBefore)
    return undefined;
  if (keyOpens(record)) return undefined;
  const result = easyCardSessionTransition(record.state, { type: 'KEY_UNREADABLE', now });
  if (!result.ok) return undefined;
  const { outcome } = EASYCARD_SESSION_FAILURES.KEY_UNREADABLE;
  const next: SessionRecord = {
    ...record,
    state: result.state,
    key: null,
    lastFailure: {
      operation: 'signon',
      outcome,
      reason: 'KEY_UNREADABLE',
      at: now,
      configFingerprint: fingerprint,
    },
    updatedAt: now,
  };
  return queue(next, 'failed', now, {
    operation: 'signon',
    outcome,
    reason: 'KEY_UNREADABLE',
    retryAt: iso(now),
  });
}

export interface SignOnDecision {
  due: boolean;
  /** The attempt overrides a block: the merchant configuration changed since the CONFIG_ERROR. */
  operator: boolean;
}

/** Whether the scheduler should sign this reader on now. */
export function signOnDue(
  record: SessionRecord,
  now: number,
  realNow: number,
  policy: SessionPolicy,
  fingerprint: string,
): SignOnDecision {
  const no = { due: false, operator: false };
  if (record.lease !== null) return no;
  const state = record.state;
  if (state.kind === 'unsigned') return { due: true, operator: false };
  if (state.kind === 'signed')
    return { due: renewalDue(state, now, policy.renewalMarginMs), operator: false };
  if (state.kind !== 'failed' && state.kind !== 'expired') return no;
  if (easyCardSessionBlock(state) !== undefined) {
    const failure = record.lastFailure;
    const configChanged =
      failure !== null &&
      failure.operation === 'signon' &&
      failure.outcome === 'CONFIG_ERROR' &&
      failure.configFingerprint !== fingerprint;
    return configChanged ? { due: true, operator: true } : no;
  }
  const at = nextSignOnAt(state, policy.renewalMarginMs);
  return { due: at !== null && now >= at, operator: false };
}

export type Claim =
  { record: SessionRecord; refusal?: undefined } | { record?: undefined; refusal: string };

/** Starts an attempt: SIGN_ON_START on the machine and a lease, or why not. */
export function claimSignOn(
  record: SessionRecord,
  now: number,
  realNow: number,
  policy: SessionPolicy,
  fingerprint: string,
  claim: { owner: string; token: string; operator: boolean },
): Claim {
  const current = maintain(record, now, realNow, policy, fingerprint) ?? record;
  if (leaseLive(current, realNow)) return { refusal: 'IN_PROGRESS' };
  const started = easyCardSessionTransition(current.state, {
    type: 'SIGN_ON_START',
    now,
    operator: claim.operator,
  });
  if (!started.ok) return { refusal: started.reason };
  return {
    record: {
      ...current,
      state: started.state,
      lease: {
        owner: claim.owner,
        token: claim.token,
        op: 'signon',
        until: realNow + policy.leaseMs,
      },
      updatedAt: now,
    },
  };
}

export interface SignOnOutcome {
  outcome: Outcome;
  reason: string;
  /** The SignOn answer's Data on success. */
  data: Record<string, unknown> | null;
}

/**
 * The scheduler's claim: due-ness is decided again on the fresh record, because the scheduler chose the reader from
 * its cache, which may be a moment behind (another replica may have just signed it on).
 */
export function claimScheduledSignOn(
  record: SessionRecord,
  now: number,
  realNow: number,
  policy: SessionPolicy,
  fingerprint: string,
  claim: { owner: string; token: string },
): Claim {
  const current = maintain(record, now, realNow, policy, fingerprint) ?? record;
  const decision = signOnDue(current, now, realNow, policy, fingerprint);
  if (!decision.due) return { refusal: leaseLive(current, realNow) ? 'IN_PROGRESS' : 'NOT_DUE' };
  return claimSignOn(current, now, realNow, policy, fingerprint, {
    ...claim,
    operator: decision.operator,
  });
}

/**
 * Records an attempt's result, if this attempt still holds the lease (undefined otherwise: another replica took
 * over, and its view wins). A success needs NewAESKey; without it the sign-on is useless (RESPONSE_INCOMPLETE).
 */
export function completeSignOn(
  record: SessionRecord,
  token: string,
  result: SignOnOutcome,
  now: number,
  fingerprint: string,
  seal: (key: string, signedAt: number) => SealedKey,
): SessionRecord | undefined {
  if (record.lease?.token !== token) return undefined;
  const newKey = result.data?.NewAESKey;
  if (result.outcome !== 'SUCCESS' || typeof newKey !== 'string' || newKey === '') {
    const failure =
      result.outcome === 'SUCCESS'
        ? { outcome: 'UNKNOWN' as const, reason: 'RESPONSE_INCOMPLETE' }
        : { outcome: result.outcome, reason: result.reason };
    return applyFailure(record, failure, now, fingerprint);
  }
  const renewing = record.state.kind === 'renewing';
  const succeeded = easyCardSessionTransition(record.state, { type: 'SIGN_ON_SUCCEEDED', now });
  if (!succeeded.ok) return { ...record, lease: null, updatedAt: now };
  const text = (field: string) => {
    const value = result.data?.[field];
    return typeof value === 'string' ? value : undefined;
  };
  const next: SessionRecord = {
    ...record,
    state: succeeded.state,
    lease: null,
    key: seal(newKey, now),
    reader: {
      deviceID: text('DeviceID'),
      newDeviceId: text('NewDeviceID'),
      dongleDeviceId: text('DongleDeviceID'),
    },
    lastFailure: null,
    signOns: record.signOns + 1,
    renewals: record.renewals + (renewing ? 1 : 0),
    firstSignedAt: record.firstSignedAt ?? now,
    notices: { expiringFor: null, expiredFor: null },
    updatedAt: now,
  };
  return queue(next, renewing ? 'renewed' : 'signed-on', now);
}

/** Why a reader needs a Settlement now: its daily one, or to lift a 010117 block. */
export function settlementDue(
  record: SessionRecord,
  now: number,
  realNow: number,
  policy: SessionPolicy,
): 'daily' | 'catch-up' | undefined {
  if (!policy.settlementEnabled || leaseLive(record, realNow) || record.lease !== null)
    return undefined;
  const status = record.settlement;
  const today = businessDay(now, policy.window.offsetMinutes);
  if (status.gaveUpDay === today) return undefined;
  if (status.retryAt !== null && now < status.retryAt) return undefined;
  if (easyCardSessionBlock(record.state) === SETTLEMENT_BLOCK_REASON) {
    const failure = record.lastFailure;
    const failures =
      record.state.kind === 'failed' || record.state.kind === 'expired'
        ? (record.state.failure?.failures ?? 1)
        : 1;
    // a settlement that did not lift the block last time is not repeated at once: back off like sign-ons
    const settledSinceFailure =
      failure !== null && status.lastSettledAt !== null && status.lastSettledAt >= failure.at;
    const waitedEnough =
      failure === null ||
      failures <= 1 ||
      now >= failure.at + easyCardBackoffDelayMs(failures - 1, policy.machine);
    if (!settledSinceFailure && waitedEnough) return 'catch-up';
  }
  if (
    record.firstSignedAt !== null &&
    inSettlementWindow(now, policy.window) &&
    !(status.lastSettledAt !== null && status.lastSettledAt >= windowStart(now, policy.window))
  ) {
    return 'daily';
  }
  return undefined;
}

export function claimSettlement(
  record: SessionRecord,
  now: number,
  realNow: number,
  policy: SessionPolicy,
  fingerprint: string,
  claim: { owner: string; token: string },
): Claim {
  const current = maintain(record, now, realNow, policy, fingerprint) ?? record;
  if (!settlementDue(current, now, realNow, policy)) return { refusal: 'NOT_DUE' };
  return {
    record: {
      ...current,
      lease: {
        owner: claim.owner,
        token: claim.token,
        op: 'settlement',
        until: realNow + policy.leaseMs,
      },
      updatedAt: now,
    },
  };
}

/** Records a Settlement's result; a success lifts a PREVIOUS_DAY_NOT_SETTLED block. */
export function completeSettlement(
  record: SessionRecord,
  token: string,
  result: { outcome: Outcome; reason: string },
  now: number,
  policy: SessionPolicy,
): SessionRecord | undefined {
  if (record.lease?.token !== token) return undefined;
  const day = businessDay(now, policy.window.offsetMinutes);
  const attempt = { at: now, day, outcome: result.outcome, reason: result.reason };
  if (result.outcome === 'SUCCESS') {
    const lifted = easyCardSessionTransition(record.state, { type: 'SETTLEMENT_COMPLETED', now });
    const next: SessionRecord = {
      ...record,
      state: lifted.ok ? lifted.state : record.state,
      lease: null,
      settlement: {
        lastSettledAt: now,
        lastAttempt: attempt,
        failures: 0,
        retryAt: null,
        gaveUpDay: null,
      },
      updatedAt: now,
    };
    return queue(next, 'settled', now, { businessDay: day });
  }
  const failures = record.settlement.failures + 1;
  const automatic = result.outcome === 'RETRYABLE' || result.outcome === 'UNKNOWN';
  const retryAt = automatic ? now + easyCardBackoffDelayMs(failures, policy.machine) : null;
  const next: SessionRecord = {
    ...record,
    lease: null,
    settlement: {
      ...record.settlement,
      lastAttempt: attempt,
      failures,
      retryAt,
      gaveUpDay: automatic ? record.settlement.gaveUpDay : day,
    },
    updatedAt: now,
  };
  return queue(next, 'failed', now, {
    operation: 'settlement',
    outcome: result.outcome,
    reason: result.reason,
    retryAt: retryAt === null ? null : iso(retryAt),
  });
}

/** Removes published events from the outbox. */
export function dropPublished(
  record: SessionRecord,
  ids: ReadonlySet<string>,
): SessionRecord | undefined {
  const outbox = record.outbox.filter((queued) => !ids.has(queued.event.id));
  return outbox.length === record.outbox.length ? undefined : { ...record, outbox };
}

/** What the bus API shows about a session (the bus contract SessionView): everything but the key. */
export function sessionView(
  record: SessionRecord,
  now: number,
  realNow: number,
  keyOpens: KeyCheck,
): SessionView {
  const state = record.state;
  const expiresAt = easyCardSessionExpiry(state);
  const signedAt =
    state.kind === 'signed' || state.kind === 'renewing' || state.kind === 'failed'
      ? state.signedAt
      : null;
  const failure = record.lastFailure;
  const machineFailure = state.kind === 'failed' || state.kind === 'expired' ? state.failure : null;
  const block = easyCardSessionBlock(state);
  return {
    deviceId: record.deviceId,
    mchId: record.mchId,
    state: easyCardSessionReportedKind(state, now),
    usable: sessionUsable(record, now, keyOpens),
    signedAt: iso(signedAt) ?? null,
    expiresAt: iso(expiresAt) ?? null,
    secondsUntilExpiry: expiresAt === null ? null : Math.floor((expiresAt - now) / 1000),
    reader: {
      deviceID: record.reader.deviceID ?? null,
      newDeviceId: record.reader.newDeviceId ?? null,
      dongleDeviceId: record.reader.dongleDeviceId ?? null,
    },
    hasKey: record.key !== null,
    inFlight: leaseLive(record, realNow) ? record.lease!.op : null,
    failure: failure && {
      operation: failure.operation,
      outcome: failure.outcome,
      reason: failure.reason,
      at: iso(failure.at)!,
      retryAt: iso(machineFailure?.retryAt) ?? null,
      needsOperator: block !== undefined,
    },
    settlement: {
      lastSettledAt: iso(record.settlement.lastSettledAt) ?? null,
      lastAttempt: record.settlement.lastAttempt && {
        ...record.settlement.lastAttempt,
        at: iso(record.settlement.lastAttempt.at)!,
      },
      nextAttemptAt: iso(record.settlement.retryAt) ?? null,
    },
    signOns: record.signOns,
    renewals: record.renewals,
    source: record.source,
    registeredAt: iso(record.registeredAt)!,
    updatedAt: iso(record.updatedAt)!,
  };
}
