import { dstoreResultOutcome, type AntomResultLike } from './antom';
import { accept, refuse, type Transition } from './machine';
import type { Outcome } from './outcome';

/**
 * Outbound delivery of one notifyOrderChange to D-Store. Pure: the caller passes `now` (epoch ms) and, when it
 * wants jitter, a `random` draw in [0, 1); nothing here reads a clock or a random source.
 */
export interface DeliveryPolicy {
  /** Attempts per round before the delivery is dead-lettered (a redeliver starts a new round). */
  maxAttempts: number;
  /** Delay after the first failed attempt. */
  baseDelayMs: number;
  /** Upper bound of any delay. */
  maxDelayMs: number;
  /** Growth factor per failed attempt. */
  multiplier: number;
  /** Share of the delay a random draw may remove (0 = no jitter, 0.5 = up to half). */
  jitterRatio: number;
}

export const DEFAULT_DELIVERY_POLICY: DeliveryPolicy = {
  maxAttempts: 8,
  baseDelayMs: 1_000,
  maxDelayMs: 5 * 60_000,
  multiplier: 2,
  jitterRatio: 0,
};

/** Problems with a policy, empty when it is usable; the service checks its config with this at boot. */
export function deliveryPolicyProblems(policy: DeliveryPolicy): string[] {
  const problems: string[] = [];
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1)
    problems.push('maxAttempts must be an integer >= 1');
  if (!Number.isFinite(policy.baseDelayMs) || policy.baseDelayMs < 0)
    problems.push('baseDelayMs must be >= 0');
  if (!Number.isFinite(policy.maxDelayMs) || policy.maxDelayMs < policy.baseDelayMs) {
    problems.push('maxDelayMs must be >= baseDelayMs');
  }
  if (!Number.isFinite(policy.multiplier) || policy.multiplier < 1)
    problems.push('multiplier must be >= 1');
  if (!(policy.jitterRatio >= 0 && policy.jitterRatio <= 1))
    problems.push('jitterRatio must be within [0, 1]');
  return problems;
}

/** Delay before the next attempt once `failedAttempts` attempts have failed: capped exponential, optional jitter. */
export function deliveryBackoffMs(
  failedAttempts: number,
  policy: DeliveryPolicy,
  random = 0,
): number {
  const exponent = Math.max(0, failedAttempts - 1);
  const capped = Math.min(
    policy.maxDelayMs,
    policy.baseDelayMs * Math.pow(policy.multiplier, exponent),
  );
  const draw = Math.min(1, Math.max(0, Number.isFinite(random) ? random : 0));
  return Math.round(capped * (1 - policy.jitterRatio * draw));
}

export const DELIVERY_STATUSES = {
  pending: 'waiting for its first attempt of the round',
  retrying: 'an attempt failed transiently; the next one is scheduled',
  delivered: 'D-Store answered S',
  failed_final: 'D-Store answered F: not retried automatically',
  dead_letter: 'the attempt bound was reached; waits for an operator to redeliver',
} as const;

export type DeliveryStatus = keyof typeof DELIVERY_STATUSES;

/** An attempt that produced no readable answer. */
export type DeliveryNoAnswerCause = 'NETWORK_ERROR' | 'TIMEOUT' | 'UNREADABLE_RESPONSE';

export interface DeliveryFailure {
  cause: 'ANSWER' | DeliveryNoAnswerCause;
  outcome: Outcome;
  resultStatus?: string;
  resultCode?: string;
}

interface DeliveryCommon {
  /** Attempts made in the current round. */
  attempts: number;
  /** How many times an operator restarted the delivery. */
  redeliveries: number;
  updatedAtMs: number;
}

export type DeliveryState =
  | (DeliveryCommon & { status: 'pending'; lastFailure?: DeliveryFailure })
  | (DeliveryCommon & { status: 'retrying'; nextAttemptAtMs: number; lastFailure: DeliveryFailure })
  | (DeliveryCommon & { status: 'delivered' })
  | (DeliveryCommon & { status: 'failed_final'; lastFailure: DeliveryFailure })
  | (DeliveryCommon & { status: 'dead_letter'; lastFailure: DeliveryFailure });

export type DeliveryEvent =
  | { type: 'ANSWERED'; now: number; result: AntomResultLike; random?: number }
  | { type: 'NO_ANSWER'; now: number; cause: DeliveryNoAnswerCause; random?: number }
  | { type: 'REDELIVER'; now: number };

export type DeliveryEventType = DeliveryEvent['type'];

/** Which events each status takes; everything else is refused. */
export const DELIVERY_EVENTS_ACCEPTED: Record<DeliveryStatus, readonly DeliveryEventType[]> = {
  pending: ['ANSWERED', 'NO_ANSWER'],
  retrying: ['ANSWERED', 'NO_ANSWER'],
  delivered: [],
  failed_final: ['REDELIVER'],
  dead_letter: ['REDELIVER'],
};

export const DELIVERY_REFUSALS = {
  ALREADY_SETTLED:
    'an attempt result arrived after the delivery settled (late or duplicate answer)',
  NOT_REDELIVERABLE: 'only a failed_final or dead_letter delivery can be redelivered',
} as const;

export type DeliveryRefusal = keyof typeof DELIVERY_REFUSALS;

export function newDelivery(now: number): DeliveryState {
  return { status: 'pending', attempts: 0, redeliveries: 0, updatedAtMs: now };
}

/** Whether the caller should make an attempt now. */
export function isDeliveryDue(state: DeliveryState, now: number): boolean {
  if (state.status === 'pending') return true;
  return state.status === 'retrying' && now >= state.nextAttemptAtMs;
}

export function deliveryTransition(
  state: DeliveryState,
  event: DeliveryEvent,
  policy: DeliveryPolicy = DEFAULT_DELIVERY_POLICY,
): Transition<DeliveryState> {
  if (!DELIVERY_EVENTS_ACCEPTED[state.status].includes(event.type)) {
    const reason: DeliveryRefusal =
      event.type === 'REDELIVER' ? 'NOT_REDELIVERABLE' : 'ALREADY_SETTLED';
    return refuse(state, reason);
  }
  const common = { redeliveries: state.redeliveries, updatedAtMs: event.now };
  if (event.type === 'REDELIVER') {
    const lastFailure = 'lastFailure' in state ? state.lastFailure : undefined;
    return accept({
      status: 'pending',
      attempts: 0,
      ...common,
      redeliveries: state.redeliveries + 1,
      lastFailure,
    });
  }
  const attempts = state.attempts + 1;
  const failure = attemptFailure(event);
  if (failure === undefined) return accept({ status: 'delivered', attempts, ...common });
  if (failure.outcome === 'FAILED' || failure.outcome === 'CONFIG_ERROR') {
    return accept({ status: 'failed_final', attempts, ...common, lastFailure: failure });
  }
  if (attempts >= policy.maxAttempts)
    return accept({ status: 'dead_letter', attempts, ...common, lastFailure: failure });
  const nextAttemptAtMs = event.now + deliveryBackoffMs(attempts, policy, event.random);
  return accept({ status: 'retrying', attempts, ...common, nextAttemptAtMs, lastFailure: failure });
}

/** Undefined when the attempt delivered. */
function attemptFailure(
  event: Extract<DeliveryEvent, { type: 'ANSWERED' | 'NO_ANSWER' }>,
): DeliveryFailure | undefined {
  if (event.type === 'NO_ANSWER') {
    // After a timeout D-Store may have processed the request; resending is still safe because of requestId.
    return { cause: event.cause, outcome: event.cause === 'TIMEOUT' ? 'UNKNOWN' : 'RETRYABLE' };
  }
  const outcome = dstoreResultOutcome(event.result);
  if (outcome === 'SUCCESS') return undefined;
  return {
    cause: 'ANSWER',
    outcome,
    resultStatus: event.result.resultStatus,
    resultCode: event.result.resultCode,
  };
}
