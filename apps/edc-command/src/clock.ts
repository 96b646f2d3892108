/**
 * Every vendor timeout and every "now" of edc-command goes through a Clock, so tests run a 95 s Purchase timeout
 * in milliseconds. Infrastructure timing (owner leases, the bus request timeout) stays on the wall clock.
 */
export interface Clock {
  now(): number;
  /** Runs `fire` once at `at` (epoch ms) or soon after; returns the cancel function. */
  schedule(at: number, fire: () => void): () => void;
}

export const CLOCK = Symbol('CLOCK');

/** setTimeout caps a delay at 2^31-1 ms; a longer one fires at once. */
const MAX_DELAY_MS = 2_147_483_647;

export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }

  schedule(at: number, fire: () => void): () => void {
    let timer: NodeJS.Timeout;
    const arm = () => {
      const delay = at - Date.now();
      timer = setTimeout(
        delay > MAX_DELAY_MS ? arm : fire,
        Math.min(Math.max(0, delay), MAX_DELAY_MS),
      );
      timer.unref?.();
    };
    arm();
    return () => clearTimeout(timer);
  }
}

interface Pending {
  at: number;
  fire: () => void;
  timer?: NodeJS.Timeout;
}

/**
 * Wall-clock time plus an offset that tests move forward: `advance(95_000)` makes a 95 s timeout due now and fires
 * it, while everything else (NATS, the simulator) keeps running in real time. The offset only grows, so a time
 * this clock hands out is never earlier than the wall clock (a bridge never sees a `notAfter` in its past).
 */
export class ShiftableClock implements Clock {
  private offset = 0;
  private readonly pending = new Set<Pending>();

  now(): number {
    return Date.now() + this.offset;
  }

  schedule(at: number, fire: () => void): () => void {
    const entry: Pending = { at, fire };
    this.pending.add(entry);
    this.arm(entry);
    return () => {
      clearTimeout(entry.timer);
      this.pending.delete(entry);
    };
  }

  /** Moves time forward and fires whatever became due, oldest first. */
  advance(ms: number): void {
    if (ms < 0) throw new Error('time only moves forward');
    this.offset += ms;
    const due = [...this.pending].sort((a, b) => a.at - b.at);
    for (const entry of due) {
      clearTimeout(entry.timer);
      this.arm(entry);
    }
  }

  private arm(entry: Pending): void {
    const delay = Math.max(0, entry.at - this.now());
    entry.timer = setTimeout(
      () => {
        this.pending.delete(entry);
        entry.fire();
      },
      Math.min(delay, MAX_DELAY_MS),
    );
    entry.timer.unref?.();
  }
}
