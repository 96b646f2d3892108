import { currentCorrelationId } from './correlation';
import { maskCardNumbers, redact } from './redact';

export type JsonLogLevel = 'error' | 'warn' | 'info' | 'debug';

const SEVERITY: Record<JsonLogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface JsonLoggerOptions {
  service: string;
  level?: JsonLogLevel;
  /** Where lines go; defaults to stdout. Tests capture it. */
  write?: (line: string) => void;
}

/**
 * One JSON object per line with the correlation id of the current bus message. Everything passes through
 * `redact`, so a careless `logger.log({ key })` cannot leak a secret. It has the shape of Nest's LoggerService
 * (@tillbus/runtime hands it to `useLogger`) without importing Nest, so NATS-only code can log with it too.
 */
export class JsonLogger {
  private readonly threshold: number;
  private readonly write: (line: string) => void;

  constructor(private readonly options: JsonLoggerOptions) {
    this.threshold = SEVERITY[options.level ?? 'info'];
    this.write = options.write ?? ((line) => process.stdout.write(line + '\n'));
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.emit('info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.emit('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.emit('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.emit('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.emit('debug', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.emit('error', message, rest);
  }

  /** Structured entry point for our own code: a message plus fields. */
  event(
    level: JsonLogLevel,
    msg: string,
    fields: Record<string, unknown> = {},
    context?: string,
  ): void {
    if (SEVERITY[level] > this.threshold) return;
    const line: Record<string, unknown> = {
      time: new Date().toISOString(),
      level,
      service: this.options.service,
      ...(context ? { context } : {}),
      msg: maskCardNumbers(msg),
    };
    const correlationId = currentCorrelationId();
    if (correlationId) line.correlationId = correlationId;
    Object.assign(line, redact(fields) as Record<string, unknown>);
    this.write(safeStringify(line));
  }

  // Nest calls logger.x(message, ...optionalParams) where the last string is the context and, for
  // errors, the one before it may be a stack trace.
  private emit(level: JsonLogLevel, message: unknown, rest: unknown[]): void {
    if (SEVERITY[level] > this.threshold) return;
    const params = [...rest];
    const context =
      typeof params[params.length - 1] === 'string' ? (params.pop() as string) : undefined;
    const fields: Record<string, unknown> = {};
    if (level === 'error' && typeof params[0] === 'string' && params[0].includes('\n    at ')) {
      fields.stack = params.shift();
    }
    if (params.length > 0) fields.params = params;
    if (message instanceof Error) {
      fields.error = message;
      this.event(level, message.message, fields, context);
    } else if (typeof message === 'object' && message !== null) {
      this.event(
        level,
        String((message as { msg?: unknown }).msg ?? ''),
        { ...message, ...fields },
        context,
      );
    } else {
      this.event(level, String(message), fields, context);
    }
  }
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  } catch {
    return JSON.stringify({ level: 'error', msg: 'unserialisable log line' });
  }
}
