import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export class HttpExchangeError extends Error {
  override readonly name = 'HttpExchangeError';
  constructor(
    message: string,
    readonly kind: 'unreachable' | 'timeout' | 'too_large',
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Keep-alive agents shared by every terminal: a connection is reused while the terminal keeps it open. */
export function createAgents(maxSockets: number): { http: HttpAgent; https: HttpsAgent } {
  const options = {
    keepAlive: true,
    maxSockets,
    maxFreeSockets: maxSockets,
    scheduling: 'lifo' as const,
  };
  return { http: new HttpAgent(options), https: new HttpsAgent(options) };
}

/** One POST with a body limit; the signal aborts it (the socket is destroyed, nothing keeps running). */
export function post(
  url: URL,
  headers: Record<string, string>,
  body: string,
  agents: { http: HttpAgent; https: HttpsAgent },
  signal: AbortSignal,
  maxBytes = 64 * 1024,
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new HttpExchangeError('aborted before sending', 'timeout'));
    const secure = url.protocol === 'https:';
    const send = secure ? httpsRequest : httpRequest;
    const req = send(url, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      agent: secure ? agents.https : agents.http,
    });
    const onAbort = () =>
      req.destroy(new HttpExchangeError('no answer within the diagnosis timeout', 'timeout'));
    signal.addEventListener('abort', onAbort, { once: true });
    const done = () => signal.removeEventListener('abort', onAbort);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          req.destroy(
            new HttpExchangeError(`the answer is larger than ${maxBytes} bytes`, 'too_large'),
          );
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        done();
        if (!res.complete) {
          reject(
            new HttpExchangeError(
              'the connection closed in the middle of the answer',
              'unreachable',
            ),
          );
          return;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      });
      res.on('error', (error) => {
        done();
        reject(asExchangeError(error));
      });
    });
    req.on('error', (error) => {
      done();
      reject(asExchangeError(error));
    });
    req.end(body);
  });
}

function asExchangeError(error: unknown): HttpExchangeError {
  if (error instanceof HttpExchangeError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  const message = error instanceof Error ? error.message : String(error);
  return new HttpExchangeError(code ? `${code}: ${message}` : message, 'unreachable', {
    cause: error,
  });
}
