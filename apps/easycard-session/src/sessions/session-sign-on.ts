import {
  easyCardSessionBlock,
  easyCardSessionTransition,
  nextSignOnAt,
  renewalDue,
  type Outcome,
} from '@tillbus/result-codes';
import type { SealedKey } from './key-box';
import { applySignOnFailure, maintain } from './session-maintenance';
import {
  leaseLive,
  queueEvent,
  type Claim,
  type SessionPolicy,
  type SessionRecord,
} from './session-record';

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
    return applySignOnFailure(record, failure, now, fingerprint);
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
  return queueEvent(next, renewing ? 'renewed' : 'signed-on', now);
}
