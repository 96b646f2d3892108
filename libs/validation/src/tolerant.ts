import 'reflect-metadata';
import { plainToInstance, type ClassConstructor } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { notAnObject, type Violation } from './validate';

/**
 * The one tolerant-reader rule for every inbound vendor message (protocols.md, top): vendors add fields and enum
 * values without notice, so an unknown field is kept verbatim and an unknown enum value is kept as received and
 * reported; only what the vendor documents as required, and our own safety limits, refuse a message.
 */

/** A value of a closed vendor vocabulary that this code does not know; the message is still used. */
export interface UnrecognisedValue {
  field: string;
  /** As received. Vendor enum values are short codes, never card data or secrets. */
  value: unknown;
}

export type TolerantRead<T> =
  | {
      ok: true;
      /** Declared fields validated; undeclared fields still present, verbatim. */
      value: T;
      /** Dotted paths of fields the schema does not declare (kept in `value`). */
      unknownFields: string[];
      unrecognised: UnrecognisedValue[];
    }
  | { ok: false; violations: Violation[] };

/** Constraints that name a closed vocabulary: failing only these makes a value unrecognised, not invalid. */
const VOCABULARY_CONSTRAINTS = new Set(['isIn', 'isEnum']);
const UNKNOWN_FIELD_CONSTRAINT = 'whitelistValidation';

export function readVendorMessage<T extends object>(
  schema: ClassConstructor<T>,
  input: unknown,
  options: { root?: string } = {},
): TolerantRead<T> {
  const root = options.root ?? '';
  const notObject = notAnObject(input, root);
  if (notObject) return { ok: false, violations: [notObject] };
  const instance = plainToInstance(schema, input as object, { exposeUnsetFields: false });
  // forbidNonWhitelisted reports undeclared fields as errors instead of deleting them; they are sorted out below.
  const errors = validateSync(instance as object, {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    validationError: { target: false, value: true },
  });
  const sorted = {
    violations: [] as Violation[],
    unknownFields: [] as string[],
    unrecognised: [] as UnrecognisedValue[],
  };
  classify(errors, root, sorted);
  if (sorted.violations.length > 0) return { ok: false, violations: sorted.violations };
  return {
    ok: true,
    value: instance,
    unknownFields: sorted.unknownFields,
    unrecognised: sorted.unrecognised,
  };
}

function classify(
  errors: readonly ValidationError[],
  prefix: string,
  into: { violations: Violation[]; unknownFields: string[]; unrecognised: UnrecognisedValue[] },
): void {
  for (const error of errors) {
    const field = joinPath(prefix, error.property);
    const constraints = Object.keys(error.constraints ?? {});
    if (constraints.includes(UNKNOWN_FIELD_CONSTRAINT)) {
      into.unknownFields.push(field);
    } else if (constraints.length > 0) {
      const onlyVocabulary = constraints.every((c) => VOCABULARY_CONSTRAINTS.has(c));
      if (onlyVocabulary && isReceivedCode(error.value)) {
        into.unrecognised.push({ field, value: error.value });
      } else {
        into.violations.push({ field, problems: constraints.map((c) => error.constraints![c]!) });
      }
    }
    if (error.children && error.children.length > 0) classify(error.children, field, into);
  }
}

/** A code a vendor could plausibly add: a string, or a list of strings for multi-valued vocabularies. */
function isReceivedCode(value: unknown): boolean {
  if (typeof value === 'string') return true;
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function joinPath(prefix: string, property: string): string {
  if (/^\d+$/.test(property)) return `${prefix}[${property}]`;
  return prefix ? `${prefix}.${property}` : property;
}
