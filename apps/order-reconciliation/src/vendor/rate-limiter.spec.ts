import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limiter';

describe('RateLimiter', () => {
  it('allows the burst at once, then the rate', () => {
    const limiter = new RateLimiter(2, 3);
    const at = (ms: number) => limiter.take('dstore', ms);
    expect([at(0), at(0), at(0), at(0)]).toEqual([true, true, true, false]);
    expect(at(499)).toBe(false);
    expect(at(500)).toBe(true);
    expect(at(500)).toBe(false);
    expect([at(10_000), at(10_000), at(10_000), at(10_000)]).toEqual([true, true, true, false]);
  });

  it('keeps one bucket per key', () => {
    const limiter = new RateLimiter(1, 1);
    expect(limiter.take('a', 0)).toBe(true);
    expect(limiter.take('a', 0)).toBe(false);
    expect(limiter.take('b', 0)).toBe(true);
  });

  it('does not refill when the clock goes backwards', () => {
    const limiter = new RateLimiter(1, 1);
    expect(limiter.take('a', 10_000)).toBe(true);
    expect(limiter.take('a', 0)).toBe(false);
  });
});

describe('RateLimiter with a bound on keys', () => {
  it('never holds more than maxKeys buckets, however many keys come', () => {
    const limiter = new RateLimiter(1, 2, 100);
    for (let i = 0; i < 10_000; i++) limiter.take(`source-${i}`, i);
    expect(limiter.size).toBeLessThanOrEqual(100);
  });

  it('forgets the least recently used key first, and keeps limiting the busy one', () => {
    const limiter = new RateLimiter(0.001, 2, 3);
    expect([limiter.take('busy', 0), limiter.take('busy', 0)]).toEqual([true, true]);
    for (const key of ['a', 'b', 'c', 'd']) {
      limiter.take(key, 0);
      // The busy key stays the most recently used one.
      expect(limiter.take('busy', 0)).toBe(false);
    }
    expect(limiter.size).toBeLessThanOrEqual(3);
  });
});
