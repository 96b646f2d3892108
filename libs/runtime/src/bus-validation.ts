import type { ArgumentMetadata, PipeTransform } from '@nestjs/common';
import { PayloadInvalidError } from '@tillbus/contracts';
import { describeViolations, validatePlain } from '@tillbus/validation';

const PRIMITIVES = new Set<unknown>([String, Boolean, Number, Array, Object]);

/**
 * The one validation pipe for bus handlers: payloads become DTO instances, unknown fields are refused, and a
 * failure is a PARAM_ILLEGAL envelope that names every bad field. It validates synchronously through the same
 * `validatePlain` the protocol libs use (Nest's ValidationPipe validates asynchronously, which costs a chain of
 * promises on every request).
 */
export class BusValidationPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    const schema = metadata.metatype;
    if (metadata.type !== 'body' || !schema || PRIMITIVES.has(schema)) return value;
    const result = validatePlain(schema as new () => object, value, { root: 'payload' });
    if (result.ok) return result.value;
    throw new PayloadInvalidError(`invalid payload: ${describeViolations(result.violations)}`, {
      violations: result.violations,
    });
  }
}

export function createBusValidationPipe(): BusValidationPipe {
  return new BusValidationPipe();
}
