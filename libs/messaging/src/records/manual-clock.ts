import type { Cancel, Clock } from './clock';

interface Timer {
  at: number;
  seq: number;
  fire: () => void;
}

/**
 * A clock for tests that moves only when told to: timers fire in order, synchronously, as time is advanced past
 * them. Lives with the Clock (not in test code) so unit specs and integration tests of every service share it.
 */
export class ManualClock implements Clock {
  private timers: Timer[] = [];
  private seq = 0;

  constructor(private current = Date.UTC(2026, 0, 1)) {}

  now(): number {
    return this.current;
  }

  schedule(at: number, fire: () => void): Cancel {
    const timer = { at, seq: this.seq++, fire };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /** How many timers wait to fire. */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward, firing every timer that comes due on the way; returns the new now. */
  advance(ms: number): number {
    const target = this.current + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers[0];
      if (!next || next.at > target) break;
      this.timers.shift();
      this.current = Math.max(this.current, next.at);
      next.fire();
    }
    this.current = target;
    return target;
  }

  /** Jumps to `epochMs`; forward fires what comes due, backward (a clock set back) fires nothing. */
  set(epochMs: number): number {
    if (epochMs > this.current) return this.advance(epochMs - this.current);
    this.current = epochMs;
    return epochMs;
  }
}
