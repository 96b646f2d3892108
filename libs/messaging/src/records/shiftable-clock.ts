import { MAX_TIMER_DELAY_MS, type Cancel, type Clock } from './clock';

interface Pending {
  at: number;
  fire: () => void;
  timer?: NodeJS.Timeout;
}

/**
 * Wall-clock time plus an offset that tests move forward: `advance(95_000)` makes a 95 s timeout due now and fires
 * it, while everything else (NATS, a simulator) keeps running in real time. The offset only grows, so a time this
 * clock hands out is never earlier than the wall clock (a peer never sees a deadline in its past).
 */
export class ShiftableClock implements Clock {
  private offset = 0;
  private readonly pending = new Set<Pending>();

  now(): number {
    return Date.now() + this.offset;
  }

  schedule(at: number, fire: () => void): Cancel {
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
      Math.min(delay, MAX_TIMER_DELAY_MS),
    );
    entry.timer.unref?.();
  }
}
