import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { parseJsonBody, readBody, sendJson, urlPath, withBody } from './http-body';
import { listen, type ListeningServer } from './http-server';

const started: ListeningServer[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((server) => server.close()));
});

async function serve(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<string> {
  const server = await listen(createServer(handler));
  started.push(server);
  return `http://127.0.0.1:${server.port}`;
}

describe('readBody', () => {
  it('gives the whole body up to the limit, and undefined past it', async () => {
    const bodies: (string | undefined)[] = [];
    const url = await serve((req, res) => {
      void readBody(req, 10).then((body) => {
        bodies.push(body?.toString());
        res.end();
      });
    });
    await fetch(url, { method: 'POST', body: '0123456789' });
    await fetch(url, { method: 'POST', body: '0123456789A' });
    await fetch(url);
    expect(bodies).toEqual(['0123456789', undefined, '']);
  });
});

describe('withBody', () => {
  it('hands the body to the handler, and answers 413 past the limit without calling it', async () => {
    const seen: string[] = [];
    const url = await serve(
      withBody({ maxBytes: 4, onError: () => undefined }, (_req, res, body) => {
        seen.push(body.toString());
        sendJson(res, 200, { length: body.length });
      }),
    );
    const small = await fetch(url, { method: 'POST', body: 'abcd' });
    expect(await small.json()).toEqual({ length: 4 });
    const large = await fetch(url, { method: 'POST', body: 'abcde' });
    expect(large.status).toBe(413);
    expect(await large.json()).toEqual({ error: 'body too large' });
    expect(seen).toEqual(['abcd']);
  });

  it('gives a handler error (thrown or rejected) to onError', async () => {
    const errors: string[] = [];
    const url = await serve(
      withBody(
        {
          maxBytes: 100,
          onError: (_req, res, error) => {
            errors.push((error as Error).message);
            sendJson(res, 500, { error: 'simulator error' });
          },
        },
        async (req) => {
          if (req.url === '/throw') throw new Error('thrown');
          await Promise.resolve();
          throw new Error('rejected');
        },
      ),
    );
    expect((await fetch(`${url}/throw`)).status).toBe(500);
    expect((await fetch(`${url}/reject`)).status).toBe(500);
    expect(errors).toEqual(['thrown', 'rejected']);
  });
});

describe('sendJson', () => {
  it('answers JSON once: a second answer on the same response is ignored', async () => {
    const url = await serve((_req, res) => {
      sendJson(res, 201, { first: true });
      sendJson(res, 500, { second: true });
    });
    const response = await fetch(url);
    expect(response.status).toBe(201);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await response.json()).toEqual({ first: true });
  });
});

describe('parseJsonBody', () => {
  it.each([
    ['', {}],
    ['{"a":1}', { a: 1 }],
    ['[1]', [1]],
    ['"text"', 'text'],
  ])('reads %j', (text, value) => {
    expect(parseJsonBody(Buffer.from(text))).toEqual(value);
  });

  it('refuses anything that is not JSON with one message', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (text) => {
        let valid = true;
        try {
          JSON.parse(text);
        } catch {
          valid = false;
        }
        if (valid) expect(parseJsonBody(Buffer.from(text))).toEqual(JSON.parse(text));
        else expect(() => parseJsonBody(Buffer.from(text))).toThrow(/^the body is not JSON$/);
      }),
      { numRuns: 300 },
    );
  });
});

describe('urlPath', () => {
  it('drops the query, and reads a missing URL as /', () => {
    expect([urlPath('/_sim/state?x=1'), urlPath('/nexo'), urlPath(undefined)]).toEqual([
      '/_sim/state',
      '/nexo',
      '/',
    ]);
  });
});
