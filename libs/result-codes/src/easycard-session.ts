import { accept, refuse, type Transition } from './machine';
import type { Outcome } from './outcome';

/** An EasyCard sign-on is valid for 30 hours (intella SignOn). */
export const SIGN_ON_VALIDITY_MS = 30 * 60 * 60 * 1000;

export const DEFAULT_RENEWAL_MARGIN_MS = 2 * 60 * 60 * 1000;

export interface EasyCardSessionConfig {
  /** Delay after the first retryable failure. */
  backoffBaseMs: number;
  backoffFactor: number;
  /** Upper bound of any one delay. */
  backoffMaxMs: number;
}

export const DEFAULT_EASYCARD_SESSION_CONFIG: EasyCardSessionConfig = {
  backoffBaseMs: 30_000,
  backoffFactor: 2,
  backoffMaxMs: 15 * 60_000,
};

/** Why the last sign-on failed. `retryAt: null` means no automatic retry: an operator (or a settlement) must act. */
export interface EasyCardSignOnFailure {
  outcome: Exclude<Outcome, 'SUCCESS'>;
  reason: string;
  /** Consecutive failed attempts, for the backoff exponent. */
  failures: number;
  retryAt: number | null;
}

export type EasyCardSessionState =
  | { kind: 'unsigned' }
  /** `expiredAt` is set when the attempt replaces a sign-on that lapsed: a failure lands back on expired. */
  | { kind: 'signing'; startedAt: number; failuresSoFar: number; expiredAt?: number }
  | { kind: 'signed'; signedAt: number; expiresAt: number }
  | {
      kind: 'renewing';
      startedAt: number;
      signedAt: number;
      expiresAt: number;
      failuresSoFar: number;
    }
  | {
      kind: 'failed';
      failure: EasyCardSignOnFailure;
      signedAt: number | null;
      expiresAt: number | null;
    }
  | { kind: 'expired'; expiredAt: number; failure: EasyCardSignOnFailure | null };

export type EasyCardSessionEvent =
  /** A SignOn request is about to be sent. `operator` overrides backoff and operator-only blocks. */
  | { type: 'SIGN_ON_START'; now: number; operator?: boolean }
  | { type: 'SIGN_ON_SUCCEEDED'; now: number }
  /** `outcome`/`reason` come from classifyIntellaResult, or from the transport (timeout, protocol error). */
  | { type: 'SIGN_ON_FAILED'; now: number; outcome: Exclude<Outcome, 'SUCCESS'>; reason: string }
  | { type: 'CLOCK_TICK'; now: number }
  /** The previous day's settlement went through: lifts a PREVIOUS_DAY_NOT_SETTLED block. */
  | { type: 'SETTLEMENT_COMPLETED'; now: number }
  /** The stored key does not open with the current key material: the sign-on is worthless, sign on again now. */
  | { type: 'KEY_UNREADABLE'; now: number };

export const EASYCARD_SESSION_STATES = [
  'unsigned',
  'signing',
  'signed',
  'renewing',
  'failed',
  'expired',
] as const;
export type EasyCardSessionStateKind = (typeof EASYCARD_SESSION_STATES)[number];

export const EASYCARD_SESSION_EVENTS = [
  'SIGN_ON_START',
  'SIGN_ON_SUCCEEDED',
  'SIGN_ON_FAILED',
  'CLOCK_TICK',
  'SETTLEMENT_COMPLETED',
  'KEY_UNREADABLE',
] as const;
export type EasyCardSessionEventType = (typeof EASYCARD_SESSION_EVENTS)[number];

/** Refusal reasons, stable for callers and metrics. */
export const EASYCARD_SESSION_REFUSALS = {
  NOT_ALLOWED: 'this event is not allowed in this state',
  BACKOFF_PENDING: 'the backoff delay has not elapsed',
  OPERATOR_ACTION_REQUIRED: 'the last failure needs an operator; no automatic retry',
  SETTLEMENT_REQUIRED: 'the previous day must be settled before signing on again',
  SUCCESS_IS_NOT_A_FAILURE: 'SIGN_ON_FAILED cannot carry the SUCCESS outcome',
} as const;
export type EasyCardSessionRefusal = keyof typeof EASYCARD_SESSION_REFUSALS;

/** The EasyCard reason that blocks sign-on until the previous day is settled. */
export const SETTLEMENT_BLOCK_REASON = 'PREVIOUS_DAY_NOT_SETTLED';

type StateOf<K extends EasyCardSessionStateKind> = Extract<EasyCardSessionState, { kind: K }>;
type EventOf<T extends EasyCardSessionEventType> = Extract<EasyCardSessionEvent, { type: T }>;
type Result = Transition<EasyCardSessionState>;
type Handler<K extends EasyCardSessionStateKind, T extends EasyCardSessionEventType> = (
  state: StateOf<K>,
  event: EventOf<T>,
  config: EasyCardSessionConfig,
) => Result;
type Table = {
  [K in EasyCardSessionStateKind]: { [T in EasyCardSessionEventType]?: Handler<K, T> };
};

export function easyCardBackoffDelayMs(failures: number, config: EasyCardSessionConfig): number {
  const exponent = Math.max(0, failures - 1);
  return Math.min(
    config.backoffMaxMs,
    config.backoffBaseMs * Math.pow(config.backoffFactor, exponent),
  );
}

function scheduleRetry(
  failures: number,
  event: EventOf<'SIGN_ON_FAILED'>,
  config: EasyCardSessionConfig,
): EasyCardSignOnFailure {
  // CONFIG_ERROR and FAILED will not heal by themselves; retrying them on a timer would only hammer intella
  const automatic = event.outcome === 'RETRYABLE' || event.outcome === 'UNKNOWN';
  return {
    outcome: event.outcome,
    reason: event.reason,
    failures,
    retryAt: automatic ? event.now + easyCardBackoffDelayMs(failures, config) : null,
  };
}

/** Whether a new attempt may start after `failure`; undefined when it may. */
function retryBlock(
  failure: EasyCardSignOnFailure | null,
  event: EventOf<'SIGN_ON_START'>,
): EasyCardSessionRefusal | undefined {
  if (failure === null || event.operator === true) return undefined;
  if (failure.retryAt !== null) return event.now >= failure.retryAt ? undefined : 'BACKOFF_PENDING';
  return failure.reason === SETTLEMENT_BLOCK_REASON
    ? 'SETTLEMENT_REQUIRED'
    : 'OPERATOR_ACTION_REQUIRED';
}

function signed(now: number): Result {
  return accept({ kind: 'signed', signedAt: now, expiresAt: now + SIGN_ON_VALIDITY_MS });
}

function hasExpired(expiresAt: number | null, now: number): expiresAt is number {
  return expiresAt !== null && now >= expiresAt;
}

function expired(expiresAt: number, failure: EasyCardSignOnFailure | null): Result {
  return accept({ kind: 'expired', expiredAt: expiresAt, failure });
}

function unblockSettlement(failure: EasyCardSignOnFailure, now: number): EasyCardSignOnFailure {
  return failure.reason === SETTLEMENT_BLOCK_REASON && failure.retryAt === null
    ? { ...failure, retryAt: now }
    : failure;
}

/** A sign-on whose key cannot be opened is no sign-on: failed, retried at once, no expiry left to report. */
function keyUnreadable(event: EventOf<'KEY_UNREADABLE'>): Result {
  const { outcome } = EASYCARD_SESSION_FAILURES.KEY_UNREADABLE;
  return accept({
    kind: 'failed',
    failure: { outcome, reason: 'KEY_UNREADABLE', failures: 0, retryAt: event.now },
    signedAt: null,
    expiresAt: null,
  });
}

function refuseSuccessAsFailure(
  state: EasyCardSessionState,
  event: EventOf<'SIGN_ON_FAILED'>,
): Result | undefined {
  return (event.outcome as Outcome) === 'SUCCESS'
    ? refuse(state, 'SUCCESS_IS_NOT_A_FAILURE')
    : undefined;
}

const TABLE: Table = {
  unsigned: {
    SIGN_ON_START: (_state, event) =>
      accept({ kind: 'signing', startedAt: event.now, failuresSoFar: 0 }),
  },
  signing: {
    SIGN_ON_SUCCEEDED: (_state, event) => signed(event.now),
    SIGN_ON_FAILED: (state, event, config) => {
      const refused = refuseSuccessAsFailure(state, event);
      if (refused) return refused;
      const failure = scheduleRetry(state.failuresSoFar + 1, event, config);
      // an outage that outlasts the sign-on keeps showing expired, not "never signed on"
      if (state.expiredAt !== undefined) return expired(state.expiredAt, failure);
      return accept({ kind: 'failed', failure, signedAt: null, expiresAt: null });
    },
  },
  signed: {
    SIGN_ON_START: (state, event) =>
      accept({
        kind: 'renewing',
        startedAt: event.now,
        signedAt: state.signedAt,
        expiresAt: state.expiresAt,
        failuresSoFar: 0,
      }),
    CLOCK_TICK: (state, event) =>
      hasExpired(state.expiresAt, event.now) ? expired(state.expiresAt, null) : accept(state),
    KEY_UNREADABLE: (_state, event) => keyUnreadable(event),
  },
  renewing: {
    SIGN_ON_SUCCEEDED: (_state, event) => signed(event.now),
    SIGN_ON_FAILED: (state, event, config) => {
      const refused = refuseSuccessAsFailure(state, event);
      if (refused) return refused;
      const failure = scheduleRetry(state.failuresSoFar + 1, event, config);
      if (hasExpired(state.expiresAt, event.now)) return expired(state.expiresAt, failure);
      return accept({
        kind: 'failed',
        failure,
        signedAt: state.signedAt,
        expiresAt: state.expiresAt,
      });
    },
    CLOCK_TICK: (state, event) =>
      hasExpired(state.expiresAt, event.now) ? expired(state.expiresAt, null) : accept(state),
  },
  failed: {
    SIGN_ON_START: (state, event) => {
      const block = retryBlock(state.failure, event);
      if (block) return refuse(state, block);
      // an operator's retry follows a fix, so the backoff starts over
      const failuresSoFar = event.operator === true ? 0 : state.failure.failures;
      if (
        state.signedAt !== null &&
        state.expiresAt !== null &&
        !hasExpired(state.expiresAt, event.now)
      ) {
        return accept({
          kind: 'renewing',
          startedAt: event.now,
          signedAt: state.signedAt,
          expiresAt: state.expiresAt,
          failuresSoFar,
        });
      }
      return accept({
        kind: 'signing',
        startedAt: event.now,
        failuresSoFar,
        ...(state.expiresAt !== null && { expiredAt: state.expiresAt }),
      });
    },
    CLOCK_TICK: (state, event) =>
      hasExpired(state.expiresAt, event.now)
        ? expired(state.expiresAt, state.failure)
        : accept(state),
    SETTLEMENT_COMPLETED: (state, event) =>
      accept({ ...state, failure: unblockSettlement(state.failure, event.now) }),
    // only a failed renewal still holds a sign-on (and a key) worth replacing
    KEY_UNREADABLE: (state, event) =>
      easyCardSessionUsable(state, event.now) ? keyUnreadable(event) : refuse(state, 'NOT_ALLOWED'),
  },
  expired: {
    // "intella returns": the next attempt after expiry, still subject to the last failure's backoff or block
    SIGN_ON_START: (state, event) => {
      const block = retryBlock(state.failure, event);
      if (block) return refuse(state, block);
      const failuresSoFar = event.operator === true ? 0 : (state.failure?.failures ?? 0);
      return accept({
        kind: 'signing',
        startedAt: event.now,
        failuresSoFar,
        expiredAt: state.expiredAt,
      });
    },
    SETTLEMENT_COMPLETED: (state, event) =>
      accept({ ...state, failure: state.failure && unblockSettlement(state.failure, event.now) }),
  },
};

/** Allowed (state, event) pairs, straight from the table: tests derive the forbidden ones from it. */
export const EASYCARD_SESSION_ALLOWED: ReadonlyArray<
  readonly [EasyCardSessionStateKind, EasyCardSessionEventType]
> = EASYCARD_SESSION_STATES.flatMap((kind) =>
  EASYCARD_SESSION_EVENTS.filter((type) => TABLE[kind][type] !== undefined).map(
    (type) => [kind, type] as const,
  ),
);

/**
 * The EasyCard session machine. Pure: time comes in on the event. A SIGN_ON_FAILED whose outcome is CONFIG_ERROR
 * or FAILED schedules no retry; RETRYABLE and UNKNOWN get capped exponential backoff from `config`.
 */
export function easyCardSessionTransition(
  state: EasyCardSessionState,
  event: EasyCardSessionEvent,
  config: EasyCardSessionConfig = DEFAULT_EASYCARD_SESSION_CONFIG,
): Transition<EasyCardSessionState> {
  const handler = TABLE[state.kind][event.type] as
    Handler<EasyCardSessionStateKind, EasyCardSessionEventType> | undefined;
  if (!handler) return refuse(state, 'NOT_ALLOWED');
  return handler(state as never, event as never, config);
}

/** True when a signed session is within `marginMs` of its expiry (or past it) and should be renewed now. */
export function renewalDue(
  state: EasyCardSessionState,
  now: number,
  marginMs: number = DEFAULT_RENEWAL_MARGIN_MS,
): boolean {
  return state.kind === 'signed' && now >= state.expiresAt - marginMs;
}

/**
 * The state to report: a sign-on whose expiry has passed is expired even before the next tick records it (a
 * `failed` renewal past its expiry, or a `signed` one no replica has looked at yet).
 */
export function easyCardSessionReportedKind(
  state: EasyCardSessionState,
  now: number,
): EasyCardSessionStateKind {
  if ((state.kind === 'signed' || state.kind === 'failed') && hasExpired(state.expiresAt, now))
    return 'expired';
  return state.kind;
}

/** True while the reader holds a sign-on that has not expired (renewals in flight or failed included). */
export function easyCardSessionUsable(state: EasyCardSessionState, now: number): boolean {
  switch (state.kind) {
    case 'signed':
    case 'renewing':
      return now < state.expiresAt;
    case 'failed':
      return state.expiresAt !== null && now < state.expiresAt;
    default:
      return false;
  }
}

/**
 * When the scheduler should next send a SignOn for this session, or null when nothing should be sent automatically
 * (an attempt is in flight, or an operator/settlement must act first).
 */
export function nextSignOnAt(
  state: EasyCardSessionState,
  marginMs: number = DEFAULT_RENEWAL_MARGIN_MS,
): number | null {
  switch (state.kind) {
    case 'unsigned':
      return 0;
    case 'signed':
      return state.expiresAt - marginMs;
    case 'failed':
      return state.failure.retryAt;
    case 'expired':
      return state.failure === null ? state.expiredAt : state.failure.retryAt;
    default:
      return null;
  }
}

/**
 * Sign-on failures that come from the session service itself rather than from intella. Their reasons share the
 * namespace of INTELLA_REASONS and INTELLA_CALL_FAILURES, so one `reason` field (and metric label) carries all.
 */
export const EASYCARD_SESSION_FAILURES = {
  LEASE_EXPIRED: {
    outcome: 'UNKNOWN',
    meaning:
      'the replica running the attempt stopped before recording its result; another one takes over',
  },
  UNKNOWN_MERCHANT: {
    outcome: 'CONFIG_ERROR',
    meaning: "the reader's MchId is not among the configured merchants",
  },
  KEY_UNREADABLE: {
    outcome: 'RETRYABLE',
    meaning:
      'the stored NewAESKey does not open with the current key-encryption key (new or rotated key material); a new SignOn replaces it at once',
  },
} as const satisfies Record<string, { outcome: Exclude<Outcome, 'SUCCESS'>; meaning: string }>;

export type EasyCardSessionFailure = keyof typeof EASYCARD_SESSION_FAILURES;

/**
 * Why a session will not be retried automatically, or undefined when it will (or is in flight, or fine). The
 * reason is the failure's own, such as BAD_TRADE_KEY or PREVIOUS_DAY_NOT_SETTLED: what an operator must fix.
 */
export function easyCardSessionBlock(state: EasyCardSessionState): string | undefined {
  const failure =
    state.kind === 'failed' ? state.failure : state.kind === 'expired' ? state.failure : null;
  return failure !== null && failure.retryAt === null ? failure.reason : undefined;
}

/** The instant the session's sign-on lapses (or lapsed), or null when it never held one. */
export function easyCardSessionExpiry(state: EasyCardSessionState): number | null {
  switch (state.kind) {
    case 'signed':
    case 'renewing':
      return state.expiresAt;
    case 'failed':
      return state.expiresAt;
    case 'expired':
      return state.expiredAt;
    case 'signing':
      return state.expiredAt ?? null;
    default:
      return null;
  }
}
