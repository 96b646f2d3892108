import { createServer, request } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { answerControl, controlSegments } from './control';
import { booleanFault, FaultError, faultFields } from './faults';
import {
  countersOf,
  fleetControl,
  HangingResponses,
  meetHoldAndDelay,
  RequestCounts,
  serveFleet,
  spoilBody,
  TerminalFaults,
} from './fleet';
import { withBody } from './http-body';
import { listen, type ListeningServer } from './http-server';

interface TestFaults {
  noPaper?: boolean;
  busy?: boolean;
}

/** A tiny vendor: two boolean faults, terminals T1 and T2. */
function parseTestFaults(input: unknown, where = 'faults'): TestFaults {
  const faults: TestFaults = {};
  for (const [key, value, field] of faultFields(input, where)) {
    if (key !== 'noPaper' && key !== 'busy') throw new FaultError(`${field} is not a fault`);
    faults[key] = booleanFault(field, value);
  }
  return faults;
}

function testFaults(onClearAll?: () => void): TerminalFaults<TestFaults> {
  return new TerminalFaults<TestFaults>({
    check(id) {
      if (id !== 'T1' && id !== 'T2') throw new FaultError(`no terminal ${id}`);
    },
    parse: parseTestFaults,
    onClearAll,
  });
}

describe('TerminalFaults', () => {
  it('loads the faults given at start, naming faults.<id> in messages', () => {
    const faults = testFaults();
    faults.load({ T1: { noPaper: true } });
    expect(faults.of('T1')).toEqual({ noPaper: true });
    expect(faults.of('T2')).toBeUndefined();
    expect(() => testFaults().load({ T1: { noPaper: 1 } })).toThrow(
      'faults.T1.noPaper must be true or false',
    );
    expect(() => testFaults().load({ T9: {} })).toThrow('no terminal T9');
  });

  it('sets, patches, clears one terminal and clears all', () => {
    let cleared = 0;
    const faults = testFaults(() => (cleared += 1));
    faults.set('T1', { noPaper: true });
    faults.patch('T1', { busy: true });
    faults.set('T2', { busy: true });
    expect(faults.get('T1')).toEqual({ noPaper: true, busy: true });
    faults.set('T1', { busy: false });
    expect(faults.get('T1')).toEqual({ busy: false });
    faults.clear('T1');
    expect(faults.get('T1')).toEqual({});
    expect(faults.of('T1')).toBeUndefined();
    faults.clearAll();
    expect(faults.get('T2')).toEqual({});
    expect(cleared).toBe(1);
  });

  it('refuses unknown terminals and bad faults, leaving the faults as they were', () => {
    const faults = testFaults();
    faults.set('T1', { noPaper: true });
    expect(() => faults.set('T3', {})).toThrow('no terminal T3');
    expect(() => faults.patch('T3', {})).toThrow('no terminal T3');
    expect(() => faults.clear('T3')).toThrow('no terminal T3');
    expect(() => faults.check('T3')).toThrow(FaultError);
    expect(() => faults.set('T1', { noPaper: 'yes' } as never)).toThrow(
      'faults.noPaper must be true or false',
    );
    expect(faults.get('T1')).toEqual({ noPaper: true });
  });

  it('hands out copies', () => {
    const faults = testFaults();
    faults.set('T1', { noPaper: true });
    faults.get('T1').busy = true;
    expect(faults.get('T1')).toEqual({ noPaper: true });
  });
});

describe('RequestCounts', () => {
  it('counts fleet-wide and per terminal, and records only when recording', () => {
    const recording = new RequestCounts<{ id: string }>(true);
    const counting = new RequestCounts<{ id: string }>(false);
    for (const counts of [recording, counting]) {
      counts.add('T1', () => ({ id: 'T1' }));
      counts.add('T1', () => ({ id: 'T1' }));
      counts.add('T2', () => ({ id: 'T2' }));
      expect(counts.total()).toBe(3);
      expect(counts.of('T1')).toBe(2);
      expect(counts.of('T3')).toBe(0);
      expect(counts.byTerminal()).toEqual({ T1: 2, T2: 1 });
    }
    expect(recording.records).toEqual([{ id: 'T1' }, { id: 'T1' }, { id: 'T2' }]);
    expect(counting.records).toEqual([]);
  });

  it('resets to zero, emptying the same records array', () => {
    const counts = new RequestCounts<number>(true);
    const records = counts.records;
    counts.add('T1', () => 1);
    counts.reset();
    expect([counts.total(), counts.of('T1'), counts.byTerminal()]).toEqual([0, 0, {}]);
    expect(records).toBe(counts.records);
    expect(records).toEqual([]);
  });
});

describe('a fleet server: HangingResponses and fleetControl', () => {
  let server: ListeningServer;
  let base: string;
  const hanging = new HangingResponses();
  const faults = testFaults(() => hanging.dropAll());
  const counts = new RequestCounts<{ id: string }>(true);
  const counters = {
    total: () => counts.total(),
    records: () => counts.records,
    reset: () => counts.reset(),
  };

  beforeAll(async () => {
    server = await listen(
      createServer(
        withBody({ maxBytes: 1000, onError: () => undefined }, (req, res, body) => {
          if (req.url?.startsWith('/_sim/')) {
            const parts = controlSegments(req.url, '/_sim/');
            return answerControl(req, res, 'README.md', () =>
              fleetControl(req.method, parts, body, res, { faults, counters, recording: true }),
            );
          }
          const id = String(req.url).slice(1);
          counts.add(id, () => ({ id }));
          if (faults.of(id)?.busy) return hanging.hang(res);
          res.end(JSON.stringify(faults.get(id)));
        }),
      ),
    );
    base = `http://127.0.0.1:${server.port}`;
  });
  afterAll(() => server.close());
  beforeEach(() => {
    faults.clearAll();
    counts.reset();
  });

  const control = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${base}/_sim/${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as unknown };
  };

  it('PUT, PATCH, GET and DELETE a terminal’s faults', async () => {
    expect(await control('PUT', 'terminals/T1/faults', { noPaper: true })).toEqual({
      status: 200,
      body: { noPaper: true },
    });
    expect(await control('PATCH', 'terminals/T1/faults', { busy: false })).toEqual({
      status: 200,
      body: { noPaper: true, busy: false },
    });
    expect(await control('GET', 'terminals/T1/faults')).toEqual({
      status: 200,
      body: { noPaper: true, busy: false },
    });
    expect(await (await fetch(`${base}/T1`)).json()).toEqual({ noPaper: true, busy: false });
    expect(await control('DELETE', 'terminals/T1/faults')).toEqual({ status: 200, body: {} });
    expect(faults.get('T1')).toEqual({});
  });

  it.each([
    ['PUT', 'terminals/T1/faults', { noPaper: 'yes' }, 'faults.noPaper must be true or false'],
    ['PUT', 'terminals/T1/faults', 'not json', 'the body is not JSON'],
    ['PUT', 'terminals/T9/faults', {}, 'no terminal T9'],
    ['GET', 'terminals/T9/faults', undefined, 'no terminal T9'],
    ['DELETE', 'terminals/T9/faults', undefined, 'no terminal T9'],
  ])('%s %s with %j is refused 400', async (method, path, body, error) => {
    const response = await fetch(`${base}/_sim/${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error });
  });

  it('DELETE faults clears every terminal and drops the requests held unanswered', async () => {
    faults.set('T1', { noPaper: true });
    faults.set('T2', { busy: true });
    const held = new Promise<string>((resolve) => {
      request(`${base}/T2`)
        .on('error', (error) => resolve(error.message))
        .end();
    });
    await expect.poll(() => counts.of('T2')).toBe(1);
    expect(await control('DELETE', 'faults')).toEqual({ status: 200, body: { cleared: true } });
    expect(await held).toBe('socket hang up');
    expect([faults.get('T1'), faults.get('T2')]).toEqual([{}, {}]);
  });

  it('GET records and POST counters/reset', async () => {
    await fetch(`${base}/T1`);
    await fetch(`${base}/T2`);
    expect(await control('GET', 'records')).toEqual({
      status: 200,
      body: { recording: true, records: [{ id: 'T1' }, { id: 'T2' }] },
    });
    expect(await control('POST', 'counters/reset')).toEqual({ status: 200, body: { total: 0 } });
    expect(counts.total()).toBe(0);
  });

  it.each([
    ['GET', 'terminals'],
    ['POST', 'terminals/T1/faults'],
    ['GET', 'terminals/T1/faults/extra'],
    ['DELETE', 'faults/T1'],
    ['GET', 'counters/reset'],
  ])('leaves %s %s to the fleet’s own routes', async (method, path) => {
    expect((await control(method, path)).status).toBe(404);
  });
});

describe('spoilBody', () => {
  const body = '{"result":{"resultCode":"SUCCESS"}}';
  it.each([
    ['garbage', '<html><body>502 Bad Gateway</body></html>'],
    ['truncated', '{"result":{"resul'],
    ['empty', ''],
    ['wrong-types', body],
    [undefined, body],
  ])('%s', (kind, spoiled) => {
    expect(spoilBody(kind, body)).toBe(spoiled);
  });
});

describe('meetHoldAndDelay', () => {
  it('holds a noAnswer request until the fleet drops it, and waits slowMs before the answer', async () => {
    const hanging = new HangingResponses();
    const outcomes: string[] = [];
    const server = await listen(
      createServer((req, res) => {
        const fault = req.url === '/hang' ? { noAnswer: true } : { slowMs: 50 };
        const started = Date.now();
        void meetHoldAndDelay(fault, res, hanging).then((answer) => {
          outcomes.push(`${req.url} ${answer} ${Date.now() - started >= 45}`);
          if (answer) res.end('ok');
        });
      }),
    );
    const dropped = new Promise<string>((resolve) => {
      request({ host: '127.0.0.1', port: server.port, path: '/hang' })
        .on('error', (error) => resolve(error.message))
        .end();
    });
    const slow = new Promise<number>((resolve) => {
      request({ host: '127.0.0.1', port: server.port, path: '/slow' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).end();
    });
    expect(await slow).toBe(200);
    await expect.poll(() => outcomes.length).toBe(2);
    hanging.dropAll();
    expect(await dropped).toMatch(/socket hang up/);
    expect(outcomes.sort()).toEqual(['/hang false false', '/slow true true']);
    await server.close();
  });
});

describe('serveFleet', () => {
  it('listens with a one-minute keep-alive and names its URL, an IPv6 host in brackets', async () => {
    const server = createServer((_req, res) => res.end());
    const served = await serveFleet(server, 'https', { host: '127.0.0.1' });
    expect(server.keepAliveTimeout).toBe(60_000);
    expect(served.url).toBe(`https://127.0.0.1:${served.port}`);
    await served.listening.close();
    const v6 = await serveFleet(createServer(), 'http', { host: '::1' }).catch(() => undefined);
    if (v6) {
      expect(v6.url).toBe(`http://[::1]:${v6.port}`);
      await v6.listening.close();
    }
  });
});

describe('countersOf', () => {
  it('reads and resets the request counts', () => {
    const counts = new RequestCounts<{ id: string }>(true);
    counts.add('T1', () => ({ id: 'T1' }));
    const counters = countersOf(counts);
    expect([counters.total(), counters.of('T1'), counters.records()]).toEqual([
      1,
      1,
      [{ id: 'T1' }],
    ]);
    counters.reset();
    expect([counters.total(), counters.of('T1'), counters.records()]).toEqual([0, 0, []]);
  });
});
