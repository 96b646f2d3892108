import { Transform, Type } from 'class-transformer';
import {
  IsBoolean,
  IsInt,
  IsNumber,
  Max,
  Min,
  ValidateBy,
  type ValidationOptions,
} from 'class-validator';
import { isSecretRef } from './secrets';

/**
 * Decorators for the settings a service config repeats. Each stands for the stack of decorators written out by
 * hand before, applied in the same order, so the checks and their messages are the same.
 */

/** Applies decorators as if stacked above a property in this order (the last one runs first). */
function stacked(...decorators: PropertyDecorator[]): PropertyDecorator {
  return (target, property) => {
    for (const decorator of [...decorators].reverse()) decorator(target, property);
  };
}

/** A whole number read from the environment, from `min` to `max` (both included; no `max`: unbounded). */
export function IntSetting(min: number, max?: number): PropertyDecorator {
  return stacked(
    Type(() => Number),
    IsInt(),
    Min(min),
    ...(max === undefined ? [] : [Max(max)]),
  );
}

/** A number (fractions allowed) read from the environment, from `min` to `max`. */
export function NumberSetting(min: number, max?: number): PropertyDecorator {
  return stacked(
    Type(() => Number),
    IsNumber(),
    Min(min),
    ...(max === undefined ? [] : [Max(max)]),
  );
}

/** `true`/`1` or `false`/`0`; anything else is refused (with `options.message`, if given). */
export function BooleanSetting(options?: ValidationOptions): PropertyDecorator {
  return stacked(Transform(toBoolean), IsBoolean(options));
}

function toBoolean({ value }: { value: unknown }): unknown {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  return value;
}

const SECRET_REF_MESSAGE =
  'must be a secret reference (env:NAME, file:/absolute/path or a bare name under SECRETS_DIR), never a key';

/** A secret reference (what SecretResolver resolves), never the secret itself. */
export function IsSecretRef(): PropertyDecorator {
  return ValidateBy({
    name: 'isSecretRef',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && isSecretRef(value),
      defaultMessage: (args) => `${args?.property} ${SECRET_REF_MESSAGE}`,
    },
  });
}
