/**
 * How an error appears in a log line: name, code, message and any other own fields (details, subject…), the whole
 * `cause` chain, and the stack only for errors nobody anticipated. A typed error (one carrying a string `code`) is
 * a known situation; its stack is noise, while an unexpected one's stack is the first thing an engineer needs.
 */
export interface LoggedError {
  name: string;
  message: string;
  code?: string;
  cause?: LoggedError | unknown;
  stack?: string;
  [field: string]: unknown;
}

const MAX_CAUSE_DEPTH = 8;

export function isExpectedError(error: Error): boolean {
  return typeof (error as { code?: unknown }).code === 'string';
}

/** The redaction rules live in redact.ts; they are passed in so cycles share its bookkeeping. */
export interface ErrorRedaction {
  /** Copies (and redacts) an error's own enumerable fields. */
  fields(fields: object): Record<string, unknown>;
  /** Masks what a message or stack may carry (card numbers). */
  text(text: string): string;
}

export function describeError(error: Error, redaction: ErrorRedaction, depth = 0): LoggedError {
  const described: LoggedError = {
    name: error.name,
    message: redaction.text(error.message),
    ...redaction.fields({ ...error }),
  };
  const cause = (error as { cause?: unknown }).cause;
  if (cause !== undefined) {
    described.cause =
      cause instanceof Error && depth < MAX_CAUSE_DEPTH
        ? describeError(cause, redaction, depth + 1)
        : cause instanceof Error
          ? { name: cause.name, message: redaction.text(cause.message) }
          : redaction.fields({ value: cause }).value;
  }
  if (!isExpectedError(error) && error.stack) described.stack = redaction.text(error.stack);
  return described;
}
