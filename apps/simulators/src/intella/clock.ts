import { readFileSync, statSync } from 'node:fs';

/**
 * The simulator's "now" (response times and business days). Same knobs as easycard-session's clock, so a demo
 * or a test can run both on one accelerated or shifted timeline:
 * - rate: how many simulated ms pass per real ms, counted from `epochMs`;
 * - offsetFile: a file holding a number of ms added to now; a test writes it to jump time in every process.
 */
export interface SimClockOptions {
  rate?: number;
  epochMs?: number;
  offsetFile?: string;
}

export type SimClock = () => number;

export function createSimClock(options: SimClockOptions = {}): SimClock {
  const rate = options.rate ?? 1;
  const epoch = options.epochMs ?? 0;
  if (!(rate > 0) || !Number.isFinite(rate)) throw new Error('the clock rate must be above 0');
  if (rate !== 1 && !(epoch > 0))
    throw new Error('an accelerated clock needs its epoch (ms since 1970)');
  const offset = options.offsetFile ? fileOffset(options.offsetFile) : () => 0;
  return () => {
    const real = Date.now();
    return (rate === 1 ? real : epoch + (real - epoch) * rate) + offset();
  };
}

/** Reads the offset again when the file changes; a missing or unreadable file counts as 0. */
function fileOffset(path: string): () => number {
  let mtime = -1;
  let value = 0;
  return () => {
    try {
      const stat = statSync(path);
      if (stat.mtimeMs !== mtime) {
        mtime = stat.mtimeMs;
        const parsed = Number(readFileSync(path, 'utf8').trim());
        value = Number.isFinite(parsed) ? parsed : 0;
      }
    } catch {
      value = 0;
      mtime = -1;
    }
    return value;
  };
}
