import { Inject, Injectable } from '@nestjs/common';
import { errors, type MsgHdrs } from '@nats-io/transport-node';
import { BusMetrics } from './bus-metrics';
import { NatsConnectionManager } from './connection';
import { BusRequestError, isErrorEnvelope } from './errors';
import { HEADERS, outgoingHeaders } from './headers';
import { MESSAGING_OPTIONS, type MessagingOptions } from './options';
import { decodeJsonPayload } from './payload';
import { allRequestSubjects } from './subjects';

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
@Injectable()
export class BusClient {
  constructor(
    private readonly connection: NatsConnectionManager,
    @Inject(MESSAGING_OPTIONS) private readonly options: MessagingOptions,
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

/** The bare request function, for code without Nest (the CLI, tests, benchmarks). */
export async function requestJson<T>(
  connection: Pick<NatsConnectionManager, 'connect'>,
  subject: string,
  payload: unknown,
  options: { timeoutMs: number; headers?: Record<string, string> },
): Promise<T> {
  const nc = await connection.connect();
  let reply;
  try {
    reply = await nc.request(subject, JSON.stringify(payload ?? {}), {
      timeout: options.timeoutMs,
      headers: outgoingHeaders(options.headers),
    });
  } catch (error) {
    throw toRequestError(error, subject, options.timeoutMs);
  }
  return decodeReply<T>(subject, reply.data, reply.headers);
}

export function decodeReply<T>(subject: string, data: Uint8Array, headers?: MsgHdrs): T {
  const decoded = decodeJsonPayload(data, null);
  if (!decoded.ok) {
    throw new BusRequestError('MALFORMED_REPLY', `the reply on ${subject} is not JSON`, subject);
  }
  const body = decoded.value;
  if (headers?.has(HEADERS.error)) {
    if (isErrorEnvelope(body))
      throw new BusRequestError(body.code, body.message, subject, body.details);
    throw new BusRequestError(
      headers.get(HEADERS.error) || 'INTERNAL_ERROR',
      'the service reported an error',
      subject,
    );
  }
  return body as T;
}

function toRequestError(error: unknown, subject: string, timeoutMs: number): BusRequestError {
  if (error instanceof errors.TimeoutError) {
    return new BusRequestError(
      'TIMEOUT',
      `no answer on ${subject} within ${timeoutMs} ms`,
      subject,
    );
  }
  if (error instanceof errors.RequestError && error.isNoResponders()) {
    return new BusRequestError('NO_RESPONDERS', `no service is listening on ${subject}`, subject);
  }
  if (error instanceof errors.NoRespondersError) {
    return new BusRequestError('NO_RESPONDERS', `no service is listening on ${subject}`, subject);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new BusRequestError('UNAVAILABLE', `request on ${subject} failed: ${message}`, subject);
}
