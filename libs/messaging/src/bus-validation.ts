import {
  ArgumentsHost,
  Catch,
  ValidationPipe,
  type RpcExceptionFilter,
  type ValidationError,
} from '@nestjs/common';
import { currentCorrelationId, JsonLogger } from '@tillbus/observability';
import { describeViolations, flattenViolations } from '@tillbus/validation';
import { throwError, type Observable } from 'rxjs';
import {
  isErrorEnvelope,
  PayloadInvalidError,
  TillbusError,
  toErrorEnvelope,
  type ErrorEnvelope,
} from './errors';

/**
 * The one validation pipe for bus handlers: unknown fields are refused, payloads become DTO instances, and a
 * failure is a PARAM_ILLEGAL envelope that names every bad field.
 */
export function createBusValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors: ValidationError[]) => {
      const violations = flattenViolations(errors, 'payload');
      return new PayloadInvalidError(`invalid payload: ${describeViolations(violations)}`, {
        violations,
      });
    },
  });
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
