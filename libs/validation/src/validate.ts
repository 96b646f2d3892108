import 'reflect-metadata';
import { plainToInstance, type ClassConstructor } from 'class-transformer';
import { validateSync, type ValidationError, type ValidatorOptions } from 'class-validator';

/** One failed field: a dotted path (`orderAmount.value`, `hosts[0].id`) and what was wrong with it. */
export interface Violation {
  field: string;
  problems: string[];
}

export type Validated<T> = { ok: true; value: T } | { ok: false; violations: Violation[] };

export interface ValidateOptions {
  /** Refuse properties the schema does not declare (default true). */
  forbidUnknown?: boolean;
  /** Drop undeclared properties instead of refusing them (default false; ignored when forbidUnknown). */
  stripUnknown?: boolean;
  /** Path prefix for messages, e.g. `payload` or `env`. */
  root?: string;
}

/** Validates an untrusted value against a class-validator schema; never throws for bad input. */
export function validatePlain<T extends object>(
  schema: ClassConstructor<T>,
  input: unknown,
  options: ValidateOptions = {},
): Validated<T> {
  const root = options.root ?? '';
  const notObject = notAnObject(input, root);
  if (notObject) return { ok: false, violations: [notObject] };
  const forbidUnknown = options.forbidUnknown ?? true;
  const validatorOptions: ValidatorOptions = {
    whitelist: forbidUnknown || (options.stripUnknown ?? false),
    forbidNonWhitelisted: forbidUnknown,
    forbidUnknownValues: true,
    validationError: { target: false, value: false },
  };
  const instance = plainToInstance(schema, input as object, { exposeUnsetFields: false });
  const errors = validateSync(instance as object, validatorOptions);
  if (errors.length === 0) return { ok: true, value: instance };
  return { ok: false, violations: flattenViolations(errors, root) };
}

/** The violation of a message that is not a JSON object at all, or null when it is one. */
export function notAnObject(input: unknown, root: string): Violation | null {
  if (input !== null && typeof input === 'object' && !Array.isArray(input)) return null;
  const got = input === null ? 'null' : Array.isArray(input) ? 'an array' : typeof input;
  return { field: root || '(root)', problems: [`must be a JSON object, got ${got}`] };
}

export function flattenViolations(errors: ValidationError[], prefix = ''): Violation[] {
  const out: Violation[] = [];
  for (const error of errors) {
    const field = joinPath(prefix, error.property);
    if (error.constraints && Object.keys(error.constraints).length > 0) {
      out.push({ field, problems: Object.values(error.constraints) });
    }
    if (error.children && error.children.length > 0)
      out.push(...flattenViolations(error.children, field));
  }
  return out;
}

/** `orderAmount.value: must be an integer; requestOrderId: should not be empty` */
export function describeViolations(violations: readonly Violation[]): string {
  return violations.map((v) => `${v.field}: ${v.problems.join(', ')}`).join('; ');
}

function joinPath(prefix: string, property: string): string {
  if (/^\d+$/.test(property)) return `${prefix}[${property}]`;
  return prefix ? `${prefix}.${property}` : property;
}
