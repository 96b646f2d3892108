import { errors, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { BusRequestError, HEADERS, isErrorEnvelope } from '@tillbus/contracts';
import { decodeJsonPayload } from './payload';

/**
 * One request on an open connection, every failure a `BusRequestError` with a code: TIMEOUT, NO_RESPONDERS,
 * UNAVAILABLE, MALFORMED_REPLY, or the code of the remote error envelope. No metrics and no
 * logger (`@tillbus/messaging/request`), so a light client such as the CLI shares it.
 */
export async function requestOnConnection<T>(
  nc: Pick<NatsConnection, 'request'>,
  subject: string,
  payload: unknown,
  options: { timeoutMs: number; headers: MsgHdrs },
): Promise<T> {
  let reply;
  try {
    reply = await nc.request(subject, JSON.stringify(payload ?? {}), {
      timeout: options.timeoutMs,
      headers: options.headers,
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
      undefined,
      { cause: error },
    );
  }
  if (
    (error instanceof errors.RequestError && error.isNoResponders()) ||
    error instanceof errors.NoRespondersError
  ) {
    return new BusRequestError(
      'NO_RESPONDERS',
      `no service is listening on ${subject}`,
      subject,
      undefined,
      { cause: error },
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new BusRequestError(
    'UNAVAILABLE',
    `request on ${subject} failed: ${message}`,
    subject,
    undefined,
    { cause: error },
  );
}
