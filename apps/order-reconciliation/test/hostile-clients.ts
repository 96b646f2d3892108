import { readdirSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import { waitFor } from '@tillbus/testing';

/**
 * Hostile clients of the D-Store edge, and the service process seen from outside (/proc and /metrics), for
 * edge-abuse.test.ts.
 */

export function processStats(pid: number): { rssBytes: number; fds: number; cpuSeconds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return {
    rssBytes: rssKb * 1024,
    fds: readdirSync(`/proc/${pid}/fd`).length,
    cpuSeconds: (Number(stat[11]) + Number(stat[12])) / 100,
  };
}

/** Samples the process every 100 ms while `during` runs; the highest RSS and descriptor count seen. */
export async function peakWhile<T>(
  pid: number,
  during: Promise<T>,
): Promise<{ result: T; rssBytes: number; fds: number }> {
  let rssBytes = 0;
  let fds = 0;
  let done = false;
  const sampler = (async () => {
    while (!done) {
      const stats = processStats(pid);
      rssBytes = Math.max(rssBytes, stats.rssBytes);
      fds = Math.max(fds, stats.fds);
      await sleep(100);
    }
  })();
  const result = await during.finally(() => (done = true));
  await sampler;
  return { result, rssBytes, fds };
}

/** A counter's value from the service's /metrics (0 when the series is absent). */
export async function counterValue(opsPort: number, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`tillbus_order_reconciliation_${name}{${labels}}`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

// ---- raw connections ----

export interface RawConnection {
  socket: Socket;
  openedAt: number;
  closedAt?: number;
  received: Buffer;
}

/** A TCP connection to the edge from `localAddress` (any 127.0.0.0/8 address), recording what comes back. */
export function rawConnection(port: number, localAddress: string): Promise<RawConnection> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    const conn: RawConnection = { socket, openedAt: Date.now(), received: Buffer.alloc(0) };
    socket.on('data', (c: Buffer) => (conn.received = Buffer.concat([conn.received, c])));
    socket.on('error', () => undefined);
    socket.on('close', () => (conn.closedAt ??= Date.now()));
    socket.once('connect', () => resolve(conn));
    socket.once('close', () => resolve(conn));
  });
}

/** One request written in full over a new connection; the raw answer once the server closes it. */
export async function rawExchange(
  port: number,
  localAddress: string,
  head: string,
  body = '',
): Promise<string> {
  const conn = await rawConnection(port, localAddress);
  conn.socket.write(Buffer.from(head + body, 'latin1'));
  await waitFor(() => conn.closedAt !== undefined || undefined, {
    what: 'the answer',
    timeoutMs: 10_000,
  });
  return conn.received.toString('latin1');
}

export function headerOf(raw: string, name: string): string | undefined {
  const head = raw.split('\r\n\r\n')[0];
  const line = head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name}:`));
  return line?.slice(name.length + 1).trim();
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/**
 * The flood runs in a worker thread, so that its own event loop does not delay the legitimate requests' timing.
 * Three kinds in turn: no Client-Id at all; a stranger's Client-Id; D-Store's Client-Id with a forged signature of
 * the right length (so that one costs a real RSA verification).
 */
export function unsignedFlood(target: {
  port: number;
  path: string;
  clientId: string;
  orderId: string;
  durationMs: number;
  concurrency: number;
}): Promise<{ sent: number; signedAnswers: number; codes: Record<string, number> }> {
  const worker = new Worker(FLOOD_WORKER, {
    eval: true,
    workerData: target,
  });
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

const FLOOD_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { randomBytes } = require('node:crypto');
const { port, path, clientId, durationMs, concurrency, orderId } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const forged = 'algorithm=RSA256,keyVersion=1,signature=' + encodeURIComponent(randomBytes(256).toString('base64'));
const body = Buffer.from(JSON.stringify({ requestOrderId: orderId }));
const kinds = [
  () => ({ 'Content-Type': 'application/json' }),
  () => ({ 'Client-Id': 'NOT-DSTORE', 'Request-Time': String(Date.now()), Signature: forged }),
  () => ({ 'Client-Id': clientId, 'Request-Time': String(Date.now()), Signature: forged }),
];
const codes = {};
let sent = 0;
let signedAnswers = 0;
const one = (i) => new Promise((resolve, reject) => {
  const req = http.request(
    { host: '127.0.0.1', port, path, method: 'POST', agent, localAddress: '127.0.0.2', headers: kinds[i % 3]() },
    (res) => {
      if (res.headers.signature !== undefined) signedAnswers++;
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const code = JSON.parse(Buffer.concat(chunks).toString('utf8')).result.resultCode;
        codes[code] = (codes[code] || 0) + 1;
        resolve();
      });
    },
  );
  req.on('error', reject);
  req.end(body);
});
const stopAt = Date.now() + durationMs;
Promise.all(Array.from({ length: concurrency }, async () => {
  while (Date.now() < stopAt) await one(sent++);
})).then(() => {
  agent.destroy();
  parentPort.postMessage({ sent, signedAnswers, codes });
});
`;
