/**
 * A token bucket per key (the Client-Id): `ratePerSecond` sustained, `burst` at once. Per replica and in memory: the
 * cluster-wide limit is the configured one times the replicas. Only Client-Ids we accept reach it, so the map is
 * bounded by DSTORE_CLIENT_IDS.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; atMs: number }>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
  ) {}

  /** Takes one token; false when the key is over its limit. */
  take(key: string, nowMs: number): boolean {
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, atMs: nowMs };
    const elapsed = Math.max(0, nowMs - bucket.atMs);
    bucket.tokens = Math.min(this.burst, bucket.tokens + (elapsed * this.ratePerSecond) / 1000);
    bucket.atMs = nowMs;
    this.buckets.set(key, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
