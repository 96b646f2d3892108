/**
 * Times around NOW, one sample state per kind and one sample event per type: shared by the EasyCard session
 * specs.
 */
import {
  SIGN_ON_VALIDITY_MS,
  type EasyCardSessionEvent,
  type EasyCardSessionEventType,
  type EasyCardSessionState,
  type EasyCardSessionStateKind,
  type EasyCardSignOnFailure,
} from '../easycard-session';

export const HOUR = 60 * 60 * 1000;
const T0 = Date.UTC(2024, 0, 1, 0, 0, 0);
export const NOW = T0 + 10 * HOUR;
export const SIGNED_AT = T0;
export const EXPIRES_AT = T0 + SIGN_ON_VALIDITY_MS;

export const retryable: EasyCardSignOnFailure = {
  outcome: 'RETRYABLE',
  reason: 'UNAVAILABLE',
  failures: 2,
  retryAt: NOW - 1,
};

export const SAMPLE_STATES: Record<EasyCardSessionStateKind, EasyCardSessionState> = {
  unsigned: { kind: 'unsigned' },
  signing: { kind: 'signing', startedAt: NOW - 1000, failuresSoFar: 0 },
  signed: { kind: 'signed', signedAt: SIGNED_AT, expiresAt: EXPIRES_AT },
  renewing: {
    kind: 'renewing',
    startedAt: NOW - 1000,
    signedAt: SIGNED_AT,
    expiresAt: EXPIRES_AT,
    failuresSoFar: 0,
  },
  failed: { kind: 'failed', failure: retryable, signedAt: SIGNED_AT, expiresAt: EXPIRES_AT },
  expired: { kind: 'expired', expiredAt: EXPIRES_AT, failure: null },
};

export const SAMPLE_EVENTS: Record<EasyCardSessionEventType, EasyCardSessionEvent> = {
  SIGN_ON_START: { type: 'SIGN_ON_START', now: NOW },
  SIGN_ON_SUCCEEDED: { type: 'SIGN_ON_SUCCEEDED', now: NOW },
  SIGN_ON_FAILED: { type: 'SIGN_ON_FAILED', now: NOW, outcome: 'RETRYABLE', reason: 'UNAVAILABLE' },
  CLOCK_TICK: { type: 'CLOCK_TICK', now: NOW },
  SETTLEMENT_COMPLETED: { type: 'SETTLEMENT_COMPLETED', now: NOW },
  KEY_UNREADABLE: { type: 'KEY_UNREADABLE', now: NOW },
};
