import type { SessionView } from '@tillbus/contracts';
import {
  easyCardSessionBlock,
  easyCardSessionExpiry,
  easyCardSessionReportedKind,
} from '@tillbus/result-codes';
import { iso, leaseLive, sessionUsable, type KeyCheck, type SessionRecord } from './session-record';

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
