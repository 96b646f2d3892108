import { describeViolations, validatePlain, type Violation } from '@tillbus/validation';
import type { ClassConstructor } from 'class-transformer';

/** Every problem with the environment, reported at once so an operator fixes them in one go. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly violations: Violation[]) {
    super(`invalid configuration: ${describeViolations(violations)}`);
  }
}

/**
 * Validates the environment once at boot into a typed object. Variables the schema does not declare are ignored
 * (the environment always holds more than ours).
 */
export function loadConfig<T extends object>(
  schema: ClassConstructor<T>,
  env: Record<string, string | undefined> = process.env,
): T {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v !== ''),
  );
  const result = validatePlain(schema, present, { forbidUnknown: false, stripUnknown: true });
  if (!result.ok) throw new ConfigError(result.violations);
  return Object.freeze(result.value);
}
