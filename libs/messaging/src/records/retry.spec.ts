import { describe, expect, it } from 'vitest';
import { NO_RETRY, pauseAfter, retrySchedule, untilSuccess } from './retry';

describe('retry policies', () => {
  it('retrySchedule: one attempt, then one after each pause', () => {
    const policy = retrySchedule([50, 250]);
    expect(policy.maxAttempts).toBe(3);
    expect([1, 2].map((attempt) => policy.delayMs(attempt))).toEqual([50, 250]);
    expect(NO_RETRY.maxAttempts).toBe(1);
  });

  it('untilSuccess grows the pause up to its cap and never gives up', () => {
    const policy = untilSuccess(10, 35);
    expect(policy.maxAttempts).toBe(Infinity);
    expect([1, 2, 3, 4].map((attempt) => policy.delayMs(attempt))).toEqual([10, 20, 35, 35]);
  });

  it('pauseAfter waits the pause in wall-clock time', async () => {
    const start = Date.now();
    await pauseAfter(retrySchedule([20]), 1);
    expect(Date.now() - start).toBeGreaterThanOrEqual(19);
  });
});
