import { CliError, UsageError } from '../errors';

/** Adds a hint to a NOT_FOUND answer. */
export function hintNotFound(hint: string) {
  return (error: unknown): never => {
    if (error instanceof CliError && error.code === 'NOT_FOUND') {
      throw new CliError(error.code, error.message, error.exitCode, hint, error.details);
    }
    throw error;
  };
}

/** 1500ms, 90s, 15m, 2h, 3d, or bare milliseconds. */
export function parseDuration(text: string, option: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match)
    throw new UsageError(`${option} must be a duration such as 1500ms, 90s, 15m, 2h or 3d`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? 'ms']!;
  const ms = Math.round(Number(match[1]) * unit);
  if (ms > 365 * 86_400_000) throw new UsageError(`${option} must be at most 365d`);
  return ms;
}

export function parseCount(text: string, option: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) {
    throw new UsageError(`${option} must be a whole number from ${min} to ${max}`);
  }
  return n;
}
