import {
  ArgumentsHost,
  Catch,
  type ArgumentMetadata,
  type PipeTransform,
  type RpcExceptionFilter,
} from '@nestjs/common';
import { currentCorrelationId, JsonLogger } from '@tillbus/observability';
import { describeViolations, validatePlain } from '@tillbus/validation';
import { throwError, type Observable } from 'rxjs';
import {
  isErrorEnvelope,
  PayloadInvalidError,
  TillbusError,
  toErrorEnvelope,
  type ErrorEnvelope,
} from '@tillbus/contracts';

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

/** Every error a bus handler throws leaves as an `{code, message, details}` envelope. */
@Catch()
export class BusExceptionFilter implements RpcExceptionFilter<unknown> {
  constructor(private readonly logger: JsonLogger) {}

  catch(exception: unknown, host: ArgumentsHost): Observable<ErrorEnvelope> {
    const expected = exception instanceof TillbusError || isErrorEnvelope(exception);
    if (!expected) {
      const error = exception instanceof Error ? exception : new Error(String(exception));
      this.logger.event('error', 'handler failed', {
        subject: host.switchToRpc().getContext<{ getSubject?: () => string }>()?.getSubject?.(),
        error: { name: error.name, message: error.message, stack: error.stack },
      });
    }
    return throwError(() => toErrorEnvelope(exception, currentCorrelationId()));
  }
}
