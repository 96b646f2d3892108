import { readFileSync } from 'node:fs';

/**
 * Faults of the terminal fleets (Antom, Adyen) are plain JSON objects, one per terminal, checked field by field so
 * that a refusal names the field at fault: `faults.<id>.<field> must be …`.
 */
export class FaultError extends Error {
  override readonly name = 'FaultError';
}

/** The longest `slowMs` a terminal fault may ask for: ten minutes. */
export const MAX_SLOW_MS = 600_000;

/** The fields of a faults object as [key, value, field name for messages]; throws unless it is a JSON object. */
export function faultFields(input: unknown, where: string): [string, unknown, string][] {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new FaultError(`${where} must be a JSON object`);
  }
  return Object.entries(input).map(([key, value]) => [key, value, `${where}.${key}`]);
}

export function booleanFault(field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new FaultError(`${field} must be true or false`);
  return value;
}

export function oneOfFault<T extends string>(
  field: string,
  value: unknown,
  names: readonly T[],
): T {
  if (!(names as readonly unknown[]).includes(value)) {
    throw new FaultError(`${field} must be one of ${names.join(', ')}`);
  }
  return value as T;
}

/** A whole number from 0 to `max`. */
export function integerFault(field: string, value: unknown, max: number): number {
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > max) {
    throw new FaultError(`${field} must be an integer from 0 to ${max}`);
  }
  return value as number;
}

/**
 * Reads a `--faults <file>`: a JSON object of faults keyed by terminal id, each checked with `parse` (messages
 * name `<id>.<field>`). Every refusal is a FaultError naming the file.
 */
export function readFaultFile<F>(
  path: string,
  keyedBy: string,
  parse: (input: unknown, where: string) => F,
): Record<string, F> {
  let input: unknown;
  try {
    input = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new FaultError(`--faults ${path}: ${(error as Error).message}`);
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new FaultError(`--faults ${path}: must be a JSON object keyed by ${keyedBy}`);
  }
  return Object.fromEntries(Object.entries(input).map(([id, f]) => [id, parse(f, id)]));
}
