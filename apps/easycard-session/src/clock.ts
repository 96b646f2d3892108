import { readFileSync, statSync } from 'node:fs';

/**
 * Business time: every "now" behind sign-on validity, renewal, backoff, expiry and settlement. Production uses the
 * system clock; tests inject a ManualClock and move 30 hours in a millisecond. Leases are about whether a replica
 * is alive, so they use real time (Date.now()) and never this clock.
 */
export interface Clock {
  now(): number;
}

export const CLOCK = Symbol('CLOCK');

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told to. */
export class ManualClock implements Clock {
  constructor(private current: number) {}

  now(): number {
    return this.current;
  }

  set(epochMs: number): number {
    this.current = epochMs;
    return epochMs;
  }

  advance(ms: number): number {
    this.current += ms;
    return this.current;
  }
}

export interface ClockSettings {
  /** Simulated ms per real ms, counted from epochMs (demos run 30 h in minutes). */
  rate: number;
  epochMs?: number;
  /** A file holding ms to add, re-read when it changes: tests jump every replica process's time at once. */
  offsetFile?: string;
}

/** The clock the configuration asks for; the system clock unless a demo or test setting is present. */
export function createClock(settings: ClockSettings): Clock {
  const { rate, epochMs, offsetFile } = settings;
  if (rate === 1 && !offsetFile) return systemClock;
  if (!(rate > 0)) throw new Error('the clock rate must be above 0');
  if (rate !== 1 && epochMs === undefined) throw new Error('an accelerated clock needs its epoch');
  const epoch = epochMs ?? 0;
  const offset = offsetFile ? fileOffset(offsetFile) : () => 0;
  return {
    now: () => {
      const real = Date.now();
      return Math.floor(rate === 1 ? real : epoch + (real - epoch) * rate) + offset();
    },
  };
}

/** Looks at the file at most every 20 ms; a missing or unreadable file adds 0. */
function fileOffset(path: string): () => number {
  let checkedAt = 0;
  let mtime = -1;
  let value = 0;
  return () => {
    const real = Date.now();
    if (real - checkedAt < 20) return value;
    checkedAt = real;
    try {
      const stat = statSync(path);
      if (stat.mtimeMs !== mtime) {
        mtime = stat.mtimeMs;
        const parsed = Number(readFileSync(path, 'utf8').trim());
        value = Number.isFinite(parsed) ? parsed : 0;
      }
    } catch {
      mtime = -1;
      value = 0;
    }
    return value;
  };
}
