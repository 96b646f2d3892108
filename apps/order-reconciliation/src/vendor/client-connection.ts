import type { Socket } from 'node:net';
import type { FastifyRequest } from 'fastify';

/** Sockets the HTTP server closed for a header or request timeout (already counted as `timeout`). */
const timedOutSockets = new WeakSet<Socket>();

export function markTimedOut(socket: Socket): void {
  timedOutSockets.add(socket);
}

export function timedOut(req: FastifyRequest): boolean {
  return timedOutSockets.has(req.raw.socket);
}

/**
 * The client is gone before its body arrived: it disconnected, or the server closed the connection on a timeout.
 * Node reports either as an `aborted` ECONNRESET on the request stream; the socket is destroyed by then.
 */
export function clientGone(req: FastifyRequest, error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === 'ECONNRESET' || req.raw.socket?.destroyed === true || req.raw.readableAborted;
}

/** The HTTP status Fastify put on an error it raised (a body too large is 413), or 500 for anything else. */
export function httpStatusOf(error: unknown): number {
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}
