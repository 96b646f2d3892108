import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { ANTOM_PATHS } from '@tillbus/protocols-antom';
import {
  freePort,
  spawnTypeScript,
  startTestNatsServer,
  waitFor,
  type ChildService,
  type TestNatsServer,
} from '@tillbus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DSTORE_CLIENT,
  dstoreSignature,
  generateKeys,
  sampleOrder,
  sendSigned,
  serviceEnv,
} from './support';
import {
  counterValue,
  headerOf,
  peakWhile,
  processStats,
  quantile,
  rawConnection,
  rawExchange,
  sleep,
  unsignedFlood,
  type RawConnection,
} from './hostile-clients';

/**
 * Hostile load on the D-Store edge, against the service as a real process (its CPU, RSS and open file descriptors
 * are read from /proc), with tight limits so that each attack is bounded in connections and seconds.
 * Legitimate D-Store requests come from 127.0.0.1 over one keep-alive connection; each attack comes from its own
 * loopback address (127.0.0.2-6), so the per-source limit tells them apart as it would tell D-Store from a stranger.
 */
const ENTRY = join(__dirname, '../src/main.ts');
const INQUIRE = ANTOM_PATHS.INQUIRE_ORDER_DETAIL;
const ORDER_ID = 'abuse-order-1';
const LIMITS = {
  HTTP_HEADERS_TIMEOUT_MS: 1000,
  HTTP_REQUEST_TIMEOUT_MS: 2000,
  HTTP_KEEP_ALIVE_TIMEOUT_MS: 5000,
  HTTP_MAX_CONNECTIONS: 64,
  SOURCE_RATE_LIMIT_PER_SECOND: 100,
  SOURCE_RATE_LIMIT_BURST: 200,
  REFUSAL_LOG_EVERY: 100,
};
/** Node checks for expired connections once a second (CONNECTIONS_CHECK_INTERVAL_MS); plus slack for a busy host. */
const CLOSED_WITHIN_MS = LIMITS.HTTP_REQUEST_TIMEOUT_MS + 1000 + 1500;

const keys = generateKeys();
let nats: TestNatsServer;
let service: ChildService;
let httpPort: number;
let opsPort: number;
const legitAgent = new Agent({ keepAlive: true, maxSockets: 1 });

beforeAll(async () => {
  nats = await startTestNatsServer();
  httpPort = await freePort();
  opsPort = await freePort();
  const env = serviceEnv(keys, nats.url, httpPort, 'http://127.0.0.1:9', {
    OPS_PORT: String(opsPort),
    RATE_LIMIT_PER_SECOND: '1000',
    RATE_LIMIT_BURST: '1000',
    ...Object.fromEntries(Object.entries(LIMITS).map(([k, v]) => [k, String(v)])),
  });
  service = spawnTypeScript(ENTRY, env);
  await service.waitForOutput(/"msg":"connected to NATS"/, 60_000);
  await waitFor(() => fetch(`http://127.0.0.1:${httpPort}/`).then(() => true), {
    what: 'the HTTP edge',
    timeoutMs: 30_000,
  });
  const created = await sendSigned(
    `http://127.0.0.1:${httpPort}`,
    keys,
    ANTOM_PATHS.CREATE_ORDER,
    sampleOrder(ORDER_ID),
  );
  expect(created.body.result.resultCode).toBe('SUCCESS');
  // Warm up: the legitimate connection is open, and the first requests' one-off costs are paid.
  for (let i = 0; i < 20; i++) await legitInquiry();
}, 120_000);

afterAll(async () => {
  legitAgent.destroy();
  service?.kill('SIGKILL');
  await service?.exited;
  await nats?.dispose();
});

// ---- legitimate D-Store traffic ----

let lastTime = 0;
/** Request-Times that never repeat, so that no legitimate request is a replay. */
function freshTime(): string {
  lastTime = Math.max(Date.now(), lastTime + 1);
  return String(lastTime);
}

function signedHeaders(path: string, body: Buffer, clientId = DSTORE_CLIENT) {
  const time = freshTime();
  return {
    'Content-Type': 'application/json; charset=UTF-8',
    'Client-Id': clientId,
    'Request-Time': time,
    Signature: dstoreSignature(keys.dstorePrivate, 'POST', path, clientId, time, body),
  };
}

/** One signed inquiry over the legitimate keep-alive connection: its answer code and wall time. */
function legitInquiry(): Promise<{ code: string; ms: number }> {
  const body = Buffer.from(JSON.stringify({ requestOrderId: ORDER_ID }));
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: httpPort,
        path: INQUIRE,
        method: 'POST',
        agent: legitAgent,
        localAddress: '127.0.0.1',
        headers: signedHeaders(INQUIRE, body),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const answer = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          resolve({ code: answer.result.resultCode, ms: performance.now() - started });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Signed inquiries every `everyMs` until `until()` is true; their latencies, and any code but SUCCESS. */
async function legitLoop(everyMs: number, until: () => boolean) {
  const latencies: number[] = [];
  const failures: string[] = [];
  while (!until()) {
    const { code, ms } = await legitInquiry();
    latencies.push(ms);
    if (code !== 'SUCCESS') failures.push(code);
    await sleep(everyMs);
  }
  return { latencies, failures };
}

async function baselineLatency(): Promise<number> {
  const latencies: number[] = [];
  for (let i = 0; i < 30; i++) latencies.push((await legitInquiry()).ms);
  return quantile(latencies, 0.9);
}

/** "Within the usual latency": the 90th percentile under attack at most 5x the one before it (20 ms floor). */
function expectUsualLatency(under: number[], baselineP90: number) {
  expect(under.length).toBeGreaterThan(10);
  expect(quantile(under, 0.9)).toBeLessThanOrEqual(Math.max(20, baselineP90) * 5);
}

const refusals = (reason: string) =>
  counterValue(opsPort, 'edge_refusals_total', `reason="${reason}"`);

// ---- the tests ----

describe('slowloris: slow headers and slow bodies', () => {
  it('closes every slow connection by its timeout, refuses those past the cap at once, and D-Store is still answered', async () => {
    const baselineP90 = await baselineLatency();
    const before = processStats(service.process.pid!);
    const timeoutsBefore = await refusals('timeout');
    const capBefore = await refusals('connection_cap');
    const abortedBefore = await refusals('client_aborted');
    const SLOW_BODY = 50;
    const SLOW_HEADERS = 50;
    const attack = async () => {
      const conns: RawConnection[] = [];
      for (let i = 0; i < SLOW_BODY + SLOW_HEADERS; i++) {
        const conn = await rawConnection(httpPort, '127.0.0.3');
        conns.push(conn);
        const head =
          i < SLOW_BODY
            ? // Headers complete and acceptable to the gate; the body then trickles in.
              `POST ${INQUIRE} HTTP/1.1\r\nHost: x\r\nClient-Id: ${DSTORE_CLIENT}\r\nRequest-Time: ${Date.now()}\r\n` +
              `Signature: algorithm=RSA256,keyVersion=1,signature=AAAA\r\nContent-Length: 10000\r\n\r\n{`
            : `POST ${INQUIRE} HTTP/1.1\r\nHost: x\r\n`;
        if (!conn.closedAt) conn.socket.write(head);
      }
      // A byte (or a header line) every 200 ms, for at most 8 s: far longer than any timeout.
      const stopAt = Date.now() + 8000;
      while (Date.now() < stopAt && conns.some((c) => c.closedAt === undefined)) {
        conns.forEach((c, i) => {
          if (c.closedAt === undefined) c.socket.write(i < SLOW_BODY ? ' ' : `X-Slow-${i}: 1\r\n`);
        });
        await sleep(200);
      }
      conns.forEach((c) => c.socket.destroy());
      return conns;
    };
    let attacking = true;
    const [{ result: conns, rssBytes, fds }, legit] = await Promise.all([
      peakWhile(
        service.process.pid!,
        attack().finally(() => (attacking = false)),
      ),
      legitLoop(100, () => !attacking),
    ]);
    // The server closed every one (none lived to the end of the attack), each within its timeout.
    const lifetimes = conns.map((c) => (c.closedAt ?? Infinity) - c.openedAt);
    expect(Math.max(...lifetimes)).toBeLessThanOrEqual(CLOSED_WITHIN_MS);
    // Those past the cap were closed at once, without an answer.
    const dropped = conns.filter(
      (c) => c.received.length === 0 && (c.closedAt ?? Infinity) - c.openedAt < 500,
    );
    expect(dropped.length).toBeGreaterThanOrEqual(
      SLOW_BODY + SLOW_HEADERS - LIMITS.HTTP_MAX_CONNECTIONS,
    );
    // The others got Node's 408 when their time ran out.
    const timedOut = conns.filter((c) => c.received.toString('latin1').startsWith('HTTP/1.1 408'));
    expect(timedOut.length).toBeGreaterThan(0);
    expect((await refusals('timeout')) - timeoutsBefore).toBe(timedOut.length);
    expect((await refusals('connection_cap')) - capBefore).toBeGreaterThanOrEqual(dropped.length);
    // A slow body cut by its timeout is counted once, as a timeout, not also as a client that went away.
    expect((await refusals('client_aborted')) - abortedBefore).toBe(0);
    expect(legit.failures).toEqual([]);
    expectUsualLatency(legit.latencies, baselineP90);
    // Bounded: at most the cap's worth of descriptors, and little memory; all released afterwards.
    expect(fds - before.fds).toBeLessThanOrEqual(LIMITS.HTTP_MAX_CONNECTIONS + 8);
    expect(rssBytes - before.rssBytes).toBeLessThan(64 * 2 ** 20);
    await waitFor(() => processStats(service.process.pid!).fds <= before.fds + 4 || undefined, {
      what: 'descriptors released',
      timeoutMs: 5000,
    });
  }, 60_000);
});

describe('unsigned flood', () => {
  it('refuses unsigned and unauthenticated requests without signing, limits the source, logs one line per 100, and D-Store is still answered', async () => {
    const baselineP90 = await baselineLatency();
    const before = processStats(service.process.pid!);
    const sourceBefore = await refusals('source_rate_limit');
    const logLinesBefore = countLines(/"msg":"D-Store edge refused requests"/);
    const failureLinesBefore = countLines(/answered D-Store with a failure/);
    const FLOOD_MS = 3000;
    const stopAt = Date.now() + FLOOD_MS;
    const cpuBefore = processStats(service.process.pid!).cpuSeconds;
    const [{ result: flood, rssBytes, fds }, legit] = await Promise.all([
      peakWhile(
        service.process.pid!,
        unsignedFlood({
          port: httpPort,
          path: INQUIRE,
          clientId: DSTORE_CLIENT,
          orderId: ORDER_ID,
          durationMs: FLOOD_MS,
          concurrency: 16,
        }),
      ),
      legitLoop(50, () => Date.now() >= stopAt),
    ]);
    const cpu = processStats(service.process.pid!).cpuSeconds - cpuBefore;
    const { sent, signedAnswers } = flood;
    const codes = new Map(Object.entries(flood.codes));
    const answered = [...codes.values()].reduce((a, b) => a + b, 0);
    expect(answered).toBe(sent);
    expect(signedAnswers).toBe(0);
    expect(new Set(codes.keys())).toEqual(
      new Set(['REQUEST_TRAFFIC_EXCEED_LIMIT', 'ACCESS_DENIED', 'INVALID_SIGNATURE']),
    );
    // The source's burst and rate passed; everything past them was refused before any check.
    const limited = codes.get('REQUEST_TRAFFIC_EXCEED_LIMIT')!;
    expect(sent - limited).toBeLessThanOrEqual(
      LIMITS.SOURCE_RATE_LIMIT_BURST +
        (LIMITS.SOURCE_RATE_LIMIT_PER_SECOND * (FLOOD_MS + 1000)) / 1000,
    );
    expect((await refusals('source_rate_limit')) - sourceBefore).toBe(limited);
    // Sampled logs: a line per REFUSAL_LOG_EVERY of a reason (plus each reason's first), none per request.
    await sleep(200);
    const lines = countLines(/"msg":"D-Store edge refused requests"/) - logLinesBefore;
    expect(lines).toBeGreaterThan(0);
    expect(lines).toBeLessThanOrEqual(Math.ceil(sent / LIMITS.REFUSAL_LOG_EVERY) + 3);
    expect(countLines(/answered D-Store with a failure/)).toBe(failureLinesBefore);
    const cpuUsPerRefusal = (cpu * 1e6) / sent;
    console.log(
      `unsigned flood: ${sent} refused in ${FLOOD_MS} ms (${limited} by the source limit), ` +
        `${cpuUsPerRefusal.toFixed(0)} µs of service CPU each (legitimate requests included), ${lines} log lines`,
    );
    expect(legit.failures).toEqual([]);
    expectUsualLatency(legit.latencies, baselineP90);
    expect(fds - before.fds).toBeLessThanOrEqual(16 + 8);
    expect(rssBytes - before.rssBytes).toBeLessThan(64 * 2 ** 20);
  }, 60_000);
});

describe('a client that disconnects mid-body', () => {
  it('is no answer, no U, no error log: one client_aborted refusal', async () => {
    const uBefore = await counterValue(
      opsPort,
      'dstore_requests_total',
      'api="inquireOrderDetail",result_status="U",result_code="UNKNOWN_EXCEPTION"',
    );
    const abortedBefore = await refusals('client_aborted');
    const outputBefore = service.output().length;
    const body = Buffer.from(JSON.stringify({ requestOrderId: ORDER_ID }));
    for (let i = 0; i < 5; i++) {
      const headers = signedHeaders(INQUIRE, body);
      const conn = await rawConnection(httpPort, '127.0.0.4');
      conn.socket.write(
        `POST ${INQUIRE} HTTP/1.1\r\nHost: x\r\n` +
          Object.entries(headers)
            .map(([k, v]) => `${k}: ${v}\r\n`)
            .join('') +
          `Content-Length: ${body.length}\r\n\r\n` +
          body.subarray(0, 10).toString('latin1'),
      );
      await sleep(100);
      conn.socket.destroy();
    }
    // The service had time to see every disconnect; then nothing was answered U, nothing logged as an error.
    await sleep(1000);
    expect(
      await counterValue(
        opsPort,
        'dstore_requests_total',
        'api="inquireOrderDetail",result_status="U",result_code="UNKNOWN_EXCEPTION"',
      ),
    ).toBe(uBefore);
    const after = service.output().slice(outputBefore);
    expect(after).not.toMatch(/"level":"error"/);
    expect(after).not.toMatch(/"level":"warn"/);
    expect((await refusals('client_aborted')) - abortedBefore).toBe(5);
  }, 30_000);
});

describe('the client-id answer header', () => {
  it.each([
    ['a tab', `${DSTORE_CLIENT}\tx`],
    ['latin-1', 'DST\u00d6RE-\u00e9\u00ff'],
    ['HTML', '<script>alert(1)</script>'],
    ['256 characters', 'A'.repeat(256)],
    ['an accepted id with a suffix', `${DSTORE_CLIENT}, ${DSTORE_CLIENT}`],
  ])('echoes nothing for a Client-Id with %s', async (_what, hostile) => {
    const raw = await rawExchange(
      httpPort,
      '127.0.0.5',
      `POST ${INQUIRE} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nClient-Id: ${hostile}\r\n` +
        `Request-Time: ${Date.now()}\r\nSignature: algorithm=RSA256,keyVersion=1,signature=AAAA\r\n` +
        `Content-Length: 2\r\n\r\n`,
      '{}',
    );
    expect(raw).toMatch(/^HTTP\/1\.1 200/);
    expect(raw).toContain('"resultCode":"ACCESS_DENIED"');
    expect(headerOf(raw, 'client-id')).toBeUndefined();
    expect(raw).not.toContain(hostile);
  });

  it('echoes an accepted Client-Id, even on an unsigned refusal', async () => {
    const raw = await rawExchange(
      httpPort,
      '127.0.0.5',
      `POST ${INQUIRE} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nClient-Id: ${DSTORE_CLIENT}\r\n` +
        `Request-Time: ${Date.now()}\r\nSignature: algorithm=RSA256,keyVersion=1,signature=AAAA\r\n` +
        `Content-Length: 2\r\n\r\n`,
      '{}',
    );
    expect(raw).toContain('"resultCode":"INVALID_SIGNATURE"');
    expect(headerOf(raw, 'client-id')).toBe(DSTORE_CLIENT);
    expect(headerOf(raw, 'signature')).toBeUndefined();
  });
});

function countLines(pattern: RegExp): number {
  return service
    .output()
    .split('\n')
    .filter((line) => pattern.test(line)).length;
}
