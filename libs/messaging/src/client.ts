import { allRequestSubjects, type BusRequestError } from '@tillbus/contracts';
import type { BusMetrics } from './bus-metrics';
import type { NatsConnectionManager } from './connection';
import { outgoingHeaders } from './headers';
import type { MessagingOptions } from './options';
import { requestOnConnection } from './request';

export interface RequestOptions {
  /** Defaults to the service's BUS_REQUEST_TIMEOUT_MS; never unbounded. */
  timeoutMs?: number;
  headers?: Record<string, string>;
}

const KNOWN_SUBJECTS = new Set(allRequestSubjects());

/**
 * Request/reply over the bus with a timeout on every call, the correlation id forwarded, and every failure
 * turned into a `BusRequestError` with a code: TIMEOUT, NO_RESPONDERS, UNAVAILABLE, MALFORMED_REPLY, or the
 * code of the remote error envelope.
 */
export class BusClient {
  constructor(
    private readonly connection: NatsConnectionManager,
    private readonly options: MessagingOptions,
    private readonly metrics: BusMetrics,
  ) {}

  async request<T = unknown>(
    subject: string,
    payload: unknown,
    options: RequestOptions = {},
  ): Promise<T> {
    const label = KNOWN_SUBJECTS.has(subject) ? subject : 'other';
    try {
      const result = await requestJson<T>(this.connection, subject, payload, {
        timeoutMs: options.timeoutMs ?? this.options.requestTimeoutMs,
        headers: options.headers,
      });
      this.metrics.requestsSent.inc({ subject: label, code: 'OK' });
      return result;
    } catch (error) {
      this.metrics.requestsSent.inc({
        subject: label,
        code: (error as BusRequestError).code ?? 'INTERNAL_ERROR',
      });
      throw error;
    }
  }
}

/** The bare request function, without metrics (tests, benchmarks). */
export async function requestJson<T>(
  connection: Pick<NatsConnectionManager, 'connect'>,
  subject: string,
  payload: unknown,
  options: { timeoutMs: number; headers?: Record<string, string> },
): Promise<T> {
  const nc = await connection.connect();
  return requestOnConnection<T>(nc, subject, payload, {
    timeoutMs: options.timeoutMs,
    headers: outgoingHeaders(options.headers),
  });
}
