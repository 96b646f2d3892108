import { ANTOM_CONTENT_TYPE, RESULT_MESSAGE_MAX } from '@tillbus/protocols-antom';
import { dstoreResult, type DStoreResultCode } from '@tillbus/result-codes';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { StoreUnavailableError } from '../orders/errors';

/** What the edge answers: always a body with `result`; HTTP 200 except 405 for a method other than POST. */
export interface EdgeAnswer {
  httpStatus: 200 | 405;
  code: DStoreResultCode;
  body: Record<string, unknown>;
}

export function answer(
  code: DStoreResultCode,
  message?: string,
  extra: Record<string, unknown> = {},
  httpStatus: 200 | 405 = 200,
): EdgeAnswer {
  const text = message === undefined ? undefined : message.slice(0, RESULT_MESSAGE_MAX);
  return { httpStatus, code, body: { result: dstoreResult(code, text), ...extra } };
}

export function unavailable(error: StoreUnavailableError): EdgeAnswer {
  return answer('UNKNOWN_EXCEPTION', `temporarily unavailable (${error.message})`);
}

export function answerBytes(result: EdgeAnswer): Buffer {
  return Buffer.from(JSON.stringify(result.body), 'utf8');
}

/**
 * The request's Client-Id when it is one D-Store may use (DSTORE_CLIENT_IDS, validated at boot as 1-128 visible
 * ASCII characters); otherwise undefined. The only caller-supplied value an answer header ever carries.
 */
export function acceptedClientId(
  req: FastifyRequest,
  allowed: ReadonlySet<string>,
): string | undefined {
  const header = req.headers['client-id'];
  return typeof header === 'string' && allowed.has(header) ? header : undefined;
}

/** Sets the status and the headers every answer has, signed or not, and sends the bytes. */
export function writeAnswer(
  reply: FastifyReply,
  result: EdgeAnswer,
  body: Buffer,
  headers: Record<string, string>,
): void {
  reply.status(result.httpStatus).headers({
    'content-type': ANTOM_CONTENT_TYPE,
    ...headers,
    ...(result.httpStatus === 405 ? { allow: 'POST' } : {}),
  });
  reply.send(body);
}

/**
 * An answer to a request not proven to come from D-Store: no RSA signature (it would cost a private-key operation
 * per hostile request), and `client-id` only when the request's is one we accept.
 */
export function writeUnsigned(
  reply: FastifyReply,
  result: EdgeAnswer,
  clientId: string | undefined,
): void {
  writeAnswer(
    reply,
    result,
    answerBytes(result),
    clientId === undefined ? {} : { 'client-id': clientId },
  );
}
