import { isTableKey } from './table';

/**
 * The one outcome vocabulary every service speaks, whatever the vendor said.
 * Each vendor table maps its codes onto it with a pure function.
 */
export const OUTCOMES = {
  SUCCESS: 'the operation succeeded',
  FAILED: 'final failure: do not retry',
  RETRYABLE: 'transient failure: retrying is safe',
  UNKNOWN: 'the result is not known: inquire before any retry, never re-dispatch',
  CONFIG_ERROR: 'signature, key or client-id trouble: alert an operator, do not retry',
} as const;

export type Outcome = keyof typeof OUTCOMES;

export const OUTCOME_NAMES = Object.keys(OUTCOMES) as Outcome[];

export function isOutcome(value: unknown): value is Outcome {
  return isTableKey(OUTCOMES, value);
}
