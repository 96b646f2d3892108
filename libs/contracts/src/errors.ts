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
 * envelope with the same code, message and details. `cause` (the error this one wraps: a NATS, KV or vendor
 * failure) goes to the log line, never into the envelope.
 */
export class TillbusError extends Error {
  override readonly name: string = 'TillbusError';
  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  toEnvelope(): ErrorEnvelope {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/**
 * A service's error codes: one meaning per code, for callers to branch on and people to read. Each service's
 * table is `libs/contracts/src/<service>/errors.ts`; the bus-wide codes are BUS_ERROR_CODES.
 */
export type ErrorCodeTable = Readonly<Record<string, string>>;

/**
 * The base of a named error with one fixed code (of its service's table), constructed from
 * `(message, details?, { cause }?)`: `class SupersededError extends codedError('SUPERSEDED', 'SupersededError') {}`.
 */
export function codedError<Code extends string = string>(code: Code, name: string) {
  return class CodedError extends TillbusError {
    override readonly name: string = name;
    declare readonly code: Code;
    constructor(message: string, details?: unknown, options?: ErrorOptions) {
      super(code, message, details, options);
    }
  };
}

/**
 * The base of a service's error class that answers with any code of its table, constructed from
 * `(code, message, details?, { cause }?)`: `class EdcError extends serviceError('EdcError', EDC_COMMAND_ERRORS) {}`.
 */
export function serviceError<Table extends ErrorCodeTable>(name: string, codes: Table) {
  return class ServiceError extends TillbusError {
    /** The meaning of each code, for documentation and bounded metric labels. */
    static readonly codes: Table = codes;
    override readonly name: string = name;
    declare readonly code: keyof Table & string;
    constructor(
      code: keyof Table & string,
      message: string,
      details?: unknown,
      options?: ErrorOptions,
    ) {
      super(code, message, details, options);
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
    options?: ErrorOptions,
  ) {
    super(code, message, details, options);
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
