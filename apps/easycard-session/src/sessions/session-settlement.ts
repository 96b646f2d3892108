import {
  SETTLEMENT_BLOCK_REASON,
  easyCardBackoffDelayMs,
  easyCardSessionBlock,
  easyCardSessionTransition,
  type Outcome,
} from '@tillbus/result-codes';
import { maintain } from './session-maintenance';
import {
  iso,
  leaseLive,
  queueEvent,
  type Claim,
  type SessionPolicy,
  type SessionRecord,
} from './session-record';
import { businessDay, inSettlementWindow, windowStart } from './settlement-window';

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
    return queueEvent(next, 'settled', now, { businessDay: day });
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
  return queueEvent(next, 'failed', now, {
    operation: 'settlement',
    outcome: result.outcome,
    reason: result.reason,
    retryAt: retryAt === null ? null : iso(retryAt),
  });
}
