/**
 * Remembers signatures already accepted. `seen` records the key and answers whether it was there before; the
 * entry may be forgotten after `expiresAtMs`, when the time window refuses the message anyway.
 */
export interface ReplayGuard {
  seen(key: string, expiresAtMs: number): boolean | Promise<boolean>;
}

export interface InMemoryReplayGuardOptions {
  /** Upper bound of remembered keys; size it above the requests expected per time window. */
  maxEntries?: number;
  /** Clock used only to forget expired keys. */
  now?: () => number;
}

/** One process's memory. Replicas do not share it: the service uses a KV-backed guard for that. */
const FULL_SWEEP_INTERVAL_MS = 1000;

export class InMemoryReplayGuard implements ReplayGuard {
  private readonly expiries = new Map<string, number>();
  private readonly maxEntries: number;
  private readonly now: () => number;
  private nextFullSweepAt = 0;

  constructor(options: InMemoryReplayGuardOptions = {}) {
    this.maxEntries = Math.max(1, Math.floor(options.maxEntries ?? 100_000));
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.expiries.size;
  }

  seen(key: string, expiresAtMs: number): boolean {
    const now = this.now();
    const known = this.expiries.get(key);
    if (known !== undefined && known > now) return true;
    this.expiries.delete(key);
    this.forgetExpiredHead(now);
    // A full sweep is O(n): at most once per second, or a guard full of live keys would scan on every request.
    if (this.expiries.size >= this.maxEntries && now >= this.nextFullSweepAt) {
      this.forgetAllExpired(now);
      this.nextFullSweepAt = now + FULL_SWEEP_INTERVAL_MS;
    }
    // Full of live keys: drop the oldest insertions, whose messages are the nearest to leaving the window.
    while (this.expiries.size >= this.maxEntries) {
      const oldest = this.expiries.keys().next().value as string;
      this.expiries.delete(oldest);
    }
    this.expiries.set(key, expiresAtMs);
    return false;
  }

  /** Keys arrive roughly in expiry order, so sweeping the head until a live key is cheap and usually enough. */
  private forgetExpiredHead(now: number): void {
    for (const [key, expiresAt] of this.expiries) {
      if (expiresAt > now) return;
      this.expiries.delete(key);
    }
  }

  private forgetAllExpired(now: number): void {
    for (const [key, expiresAt] of this.expiries) {
      if (expiresAt <= now) this.expiries.delete(key);
    }
  }
}
