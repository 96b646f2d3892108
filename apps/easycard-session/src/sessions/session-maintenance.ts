import {
  EASYCARD_SESSION_FAILURES,
  easyCardSessionExpiry,
  easyCardSessionTransition,
  type Outcome,
} from '@tillbus/result-codes';
import {
  iso,
  leaseLive,
  noteExpired,
  queueEvent,
  type KeyCheck,
  type SessionPolicy,
  type SessionRecord,
} from './session-record';
import { businessDay } from './settlement-window';

export function applySignOnFailure(
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
  next = queueEvent(next, 'failed', now, {
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
      next = applySignOnFailure(next, { outcome, reason: 'LEASE_EXPIRED' }, now, fingerprint);
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
    next = queueEvent(
      { ...next, notices: { ...next.notices, expiringFor: expiresAt } },
      'expiring',
      now,
    );
  }
  return next === record ? undefined : { ...next, updatedAt: now };
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
  return queueEvent(next, 'failed', now, {
    operation: 'signon',
    outcome,
    reason: 'KEY_UNREADABLE',
    retryAt: iso(now),
  });
}
