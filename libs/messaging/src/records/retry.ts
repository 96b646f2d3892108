import { setTimeout as realSleep } from 'node:timers/promises';

/** How often to try an operation and how long to pause in between; shared by compare-and-set and the outbox. */
export interface RetryPolicy {
  /** Attempts in all, the first included; Infinity tries until it works. */
  readonly maxAttempts: number;
  /** The pause after failed attempt number `attempt` (counted from 1), in wall-clock ms. */
  delayMs(attempt: number): number;
}

/** Tries once. */
export const NO_RETRY: RetryPolicy = { maxAttempts: 1, delayMs: () => 0 };

/** Tries `maxAttempts` times with no pause: right for compare-and-set, where every conflict has a winner. */
export function immediateRetries(maxAttempts: number): RetryPolicy {
  return { maxAttempts, delayMs: () => 0 };
}

/** One attempt, then one more after each listed pause. */
export function retrySchedule(delaysMs: readonly number[]): RetryPolicy {
  return { maxAttempts: delaysMs.length + 1, delayMs: (attempt) => delaysMs[attempt - 1] ?? 0 };
}

/** Retries forever, the pause growing from `baseMs` by `factor` up to `maxMs`. */
export function untilSuccess(baseMs: number, maxMs: number, factor = 2): RetryPolicy {
  return {
    maxAttempts: Infinity,
    delayMs: (attempt) => Math.min(maxMs, baseMs * factor ** (attempt - 1)),
  };
}

/** Waits the policy's pause after `attempt`; no timer at all for a zero pause. */
export async function pauseAfter(policy: RetryPolicy, attempt: number): Promise<void> {
  const ms = policy.delayMs(attempt);
  if (ms > 0) await realSleep(ms);
}
