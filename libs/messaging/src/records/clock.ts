/**
 * Every "now" and every timer of a service goes through a Clock, so tests can run hours in milliseconds.
 * Infrastructure timing (leases between replicas, bus request timeouts) stays on the wall clock.
 */
export interface Clock {
  now(): number;
  /** Runs `fire` once when `now()` reaches `at` (epoch ms), or soon after; returns the cancel function. */
  schedule(at: number, fire: () => void): Cancel;
}

export type Cancel = () => void;

/** The Nest injection token of the service's Clock. */
export const CLOCK = Symbol('CLOCK');

/** setTimeout caps a delay at 2^31-1 ms; a longer one fires at once. */
export const MAX_TIMER_DELAY_MS = 2_147_483_647;

/** The wall clock. Its timers never keep the process alive. */
export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }

  schedule(at: number, fire: () => void): Cancel {
    return armUntil(() => this.now(), at, fire);
  }
}

export const systemClock: Clock = new SystemClock();

/** Runs `fire` once `ms` from the clock's now. */
export function after(clock: Clock, ms: number, fire: () => void): Cancel {
  return clock.schedule(clock.now() + Math.max(0, ms), fire);
}

export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => after(clock, ms, resolve));
}

/**
 * A real timer that fires once `now()` has reached `at`: it re-arms when it wakes early (a delay longer than
 * setTimeout allows, or a clock that runs slower than the wall clock). `realMsPerMs` converts clock ms to wall ms.
 */
export function armUntil(now: () => number, at: number, fire: () => void, realMsPerMs = 1): Cancel {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const delay = Math.ceil(Math.max(0, at - now()) * realMsPerMs);
    timer = setTimeout(
      delay > MAX_TIMER_DELAY_MS ? arm : wake,
      Math.min(delay, MAX_TIMER_DELAY_MS),
    );
    timer.unref?.();
  };
  const wake = () => (now() >= at ? fire() : arm());
  arm();
  return () => clearTimeout(timer);
}
