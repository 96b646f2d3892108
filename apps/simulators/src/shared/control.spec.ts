import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerControl, controlSegments } from './control';
import { sendJson, withBody } from './http-body';
import { listen, type ListeningServer } from './http-server';

describe('controlSegments', () => {
  it.each([
    ['/_sim/terminals', ['terminals']],
    ['/_sim/terminals/A%2FB/faults?x=1', ['terminals', 'A/B', 'faults']],
    ['/_sim//counters/', ['counters']],
    ['/_sim/', []],
    [undefined, []],
    // a broken escape names nothing, rather than failing the request
    ['/_sim/terminals/%E0%A4%A/faults', ['terminals', '%E0%A4%A', 'faults']],
  ])('%s', (url, parts) => {
    expect(controlSegments(url, '/_sim/')).toEqual(parts);
  });

  it('works with a prefix without the trailing slash', () => {
    expect(controlSegments('/_control/faults/3', '/_control/')).toEqual(['faults', '3']);
  });
});

describe('answerControl', () => {
  let server: ListeningServer;
  let url: string;

  beforeAll(async () => {
    server = await listen(
      createServer(
        withBody({ maxBytes: 1000, onError: () => undefined }, (req, res) =>
          answerControl(req, res, 'somewhere/README.md', async () => {
            const parts = controlSegments(req.url, '/_sim/');
            if (parts[0] === 'ok') return sendJson(res, 200, { ok: true });
            if (parts[0] === 'later') {
              await new Promise((resolve) => setTimeout(resolve, 5));
              return sendJson(res, 202, { later: true });
            }
            if (parts[0] === 'bad') throw new Error('faults.x must be true or false');
          }),
        ),
      ),
    );
    url = `http://127.0.0.1:${server.port}/_sim`;
  });
  afterAll(() => server.close());

  it('lets a route answer, now or after awaiting', async () => {
    const now = await fetch(`${url}/ok`);
    expect([now.status, await now.json()]).toEqual([200, { ok: true }]);
    const later = await fetch(`${url}/later`, { method: 'POST' });
    expect([later.status, await later.json()]).toEqual([202, { later: true }]);
  });

  it('answers 400 with the message of what a route throws', async () => {
    const response = await fetch(`${url}/bad`, { method: 'PUT' });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'faults.x must be true or false' });
  });

  it('answers 404 naming the request and the docs when no route answered', async () => {
    const response = await fetch(`${url}/nothing/here?x=1`, { method: 'DELETE' });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: 'no control route DELETE /_sim/nothing/here; see somewhere/README.md',
    });
  });
});
