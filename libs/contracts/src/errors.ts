/** What a caller receives when a request fails: always this shape, never a bare string. */
export interface ErrorEnvelope {
  code: string;
  message: string;
  details?: unknown;
}

/** Codes the messaging layer itself produces; services add their domain codes through named errors. */
export const BUS_ERROR_CODES = {
  PARAM_ILLEGAL: 'the payload is not valid JSON or does not match the schema',
  NOT_FOUND: 'the thing asked for does not exist',
  NO_HANDLER: 'nothing handles this subject in the service',
  TIMEOUT: 'no answer within the request timeout',
  NO_RESPONDERS: 'no service is listening on this subject',
  UNAVAILABLE: 'a dependency (NATS, JetStream, a vendor) is unavailable; retry later',
  MALFORMED_REPLY: 'the reply was not valid JSON',
  SHUTTING_DOWN: 'the service is shutting down',
  INTERNAL_ERROR: 'an unexpected error; the service log has details under the correlation id',
} as const;
export type BusErrorCode = keyof typeof BUS_ERROR_CODES;

/**
 * The base of every named domain error. Handlers throw these; the bus filter turns them into an
 * envelope with the same code, message and details.
 */
export class TillbusError extends Error {
  override readonly name: string = 'TillbusError';
  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }

  toEnvelope(): ErrorEnvelope {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/**
 * The base of a named error with one fixed code, constructed from `(message, details?)`:
 * `export class SupersededError extends codedError('SUPERSEDED', 'SupersededError') {}`.
 */
export function codedError(code: string, name: string) {
  return class CodedError extends TillbusError {
    override readonly name: string = name;
    constructor(message: string, details?: unknown) {
      super(code, message, details);
    }
  };
}

export class PayloadInvalidError extends codedError('PARAM_ILLEGAL', 'PayloadInvalidError') {}

export class NotFoundError extends codedError('NOT_FOUND', 'NotFoundError') {}

export class UnavailableError extends codedError('UNAVAILABLE', 'UnavailableError') {}

/** A request this process made failed: locally (timeout, no responders) or remotely (an envelope). */
export class BusRequestError extends TillbusError {
  override readonly name = 'BusRequestError';
  constructor(
    code: string,
    message: string,
    readonly subject: string,
    details?: unknown,
  ) {
    super(code, message, details);
  }
}

export function isErrorEnvelope(value: unknown): value is ErrorEnvelope {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ErrorEnvelope).code === 'string' &&
    typeof (value as ErrorEnvelope).message === 'string'
  );
}

/** Any thrown value as an envelope; unknown errors become INTERNAL_ERROR without leaking internals. */
export function toErrorEnvelope(error: unknown, correlationId?: string): ErrorEnvelope {
  if (error instanceof TillbusError) return error.toEnvelope();
  if (isErrorEnvelope(error)) {
    const { code, message, details } = error;
    return details === undefined ? { code, message } : { code, message, details };
  }
  const reference = correlationId ? ` (correlation id ${correlationId})` : '';
  return { code: 'INTERNAL_ERROR', message: `internal error${reference}` };
}
