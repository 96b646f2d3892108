import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Reads a request body to its end. A body over `maxBytes` resolves to undefined (it is still read, not kept, so an
 * answer can be sent on the same connection). Rejects when the request fails (the client went away mid-body).
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export interface BodyHandlerOptions {
  /** A larger body is answered 413 `{"error":"body too large"}` and never handled. */
  maxBytes: number;
  /** Reading or handling failed: answer if `res.headersSent` is still false (sendJson checks it itself). */
  onError(req: IncomingMessage, res: ServerResponse, error: unknown): void;
}

/** A request listener for `createServer` that reads the whole body first, then hands it to `handle`. */
export function withBody(
  options: BodyHandlerOptions,
  handle: (req: IncomingMessage, res: ServerResponse, body: Buffer) => unknown,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    readBody(req, options.maxBytes)
      .then((body) =>
        body === undefined
          ? sendJson(res, 413, { error: 'body too large' })
          : handle(req, res, body),
      )
      .catch((error: unknown) => options.onError(req, res, error));
  };
}

/** Answers with a JSON body; does nothing when an answer has already started or the connection is gone. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

/** The JSON of a request body; an empty body is `{}`. Throws "the body is not JSON" otherwise. */
export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new Error('the body is not JSON');
  }
}

/** The path of a request URL, without the query: `/_sim/state?x=1` is `/_sim/state`. */
export function urlPath(url: string | undefined): string {
  return (url ?? '/').split('?')[0];
}
