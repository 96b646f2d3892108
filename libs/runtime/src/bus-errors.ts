import { Catch, type ArgumentsHost, type RpcExceptionFilter } from '@nestjs/common';
import {
  isErrorEnvelope,
  TillbusError,
  toErrorEnvelope,
  type BusErrorCode,
  type ErrorEnvelope,
} from '@tillbus/contracts';
import { currentCorrelationId, JsonLogger } from '@tillbus/observability';
import { throwError, type Observable } from 'rxjs';

/** The reply a service gives for an error nobody anticipated; without one it is INTERNAL_ERROR. */
export interface UnknownErrorReply {
  code: BusErrorCode;
  message: string;
}

/** Provided by MessagingModule.forRoot: the service's UnknownErrorReply, or null for INTERNAL_ERROR. */
export const UNKNOWN_ERROR_REPLY = Symbol('UNKNOWN_ERROR_REPLY');

/**
 * The one place where a bus handler's error becomes a reply: a typed error (or an envelope) leaves as its
 * `{code, message, details}`; anything else is logged once, whole (cause chain and stack), under the request's
 * correlation id, and answered with the service's UnknownErrorReply or INTERNAL_ERROR, never with its details.
 */
@Catch()
export class BusExceptionFilter implements RpcExceptionFilter<unknown> {
  constructor(
    private readonly logger: JsonLogger,
    private readonly unknownErrorReply?: UnknownErrorReply,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): Observable<ErrorEnvelope> {
    if (exception instanceof TillbusError || isErrorEnvelope(exception))
      return throwError(() => toErrorEnvelope(exception));
    const correlationId = currentCorrelationId();
    this.logger.event('error', 'handler failed', {
      subject: host.switchToRpc().getContext<{ getSubject?: () => string }>()?.getSubject?.(),
      error: exception,
    });
    const reply: ErrorEnvelope = this.unknownErrorReply
      ? { code: this.unknownErrorReply.code, message: this.unknownErrorReply.message }
      : toErrorEnvelope(exception, correlationId);
    return throwError(() => reply);
  }
}
