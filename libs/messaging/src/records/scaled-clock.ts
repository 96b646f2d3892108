import { readFileSync, statSync } from 'node:fs';
import { armUntil, systemClock, type Cancel, type Clock } from './clock';

export interface ClockSettings {
  /** Simulated ms per real ms, counted from epochMs (demos run 30 h in minutes). */
  rate: number;
  epochMs?: number;
  /** A file holding ms to add, re-read when it changes: tests jump every replica process's time at once. */
  offsetFile?: string;
}

/** The clock a configuration asks for; the system clock unless a demo or test setting is present. */
export function createClock(settings: ClockSettings): Clock {
  const { rate, epochMs, offsetFile } = settings;
  if (rate === 1 && !offsetFile) return systemClock;
  if (!(rate > 0)) throw new Error('the clock rate must be above 0');
  if (rate !== 1 && epochMs === undefined) throw new Error('an accelerated clock needs its epoch');
  const epoch = epochMs ?? 0;
  const offset = offsetFile ? fileOffset(offsetFile) : () => 0;
  const now = () => {
    const real = Date.now();
    return Math.floor(rate === 1 ? real : epoch + (real - epoch) * rate) + offset();
  };
  return {
    now,
    schedule: (at: number, fire: () => void): Cancel => armUntil(now, at, fire, 1 / rate),
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
