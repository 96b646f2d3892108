/**
 * A token bucket per key: `ratePerSecond` sustained, `burst` at once. Per replica and in memory: the cluster-wide
 * limit is the configured one times the replicas. The map holds at most `maxKeys` buckets: past that, buckets that
 * have refilled (equal to a fresh one) are dropped first, then the least recently used, so a flood of distinct
 * keys costs bounded memory and at worst hands a forgotten key a fresh burst.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; atMs: number }>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly maxKeys = Number.POSITIVE_INFINITY,
  ) {}

  /** Takes one token; false when the key is over its limit. */
  take(key: string, nowMs: number): boolean {
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, atMs: nowMs };
    const elapsed = Math.max(0, nowMs - bucket.atMs);
    bucket.tokens = Math.min(this.burst, bucket.tokens + (elapsed * this.ratePerSecond) / 1000);
    bucket.atMs = nowMs;
    // Re-inserted, so the map's order is least recently used first.
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.maxKeys) this.evict(nowMs);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Buckets held now (for tests and the bound). */
  get size(): number {
    return this.buckets.size;
  }

  private evict(nowMs: number): void {
    const refillMs = (this.burst * 1000) / this.ratePerSecond;
    for (const [key, bucket] of this.buckets) {
      if (this.buckets.size <= this.maxKeys / 2) return;
      if (nowMs - bucket.atMs >= refillMs) this.buckets.delete(key);
    }
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= this.maxKeys) return;
      this.buckets.delete(key);
    }
  }
}
