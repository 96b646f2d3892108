import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { freePort, startTestNatsServer, waitFor } from '@tillbus/testing';
import { compare, median, report } from './harness';
import {
  benchServiceEnv,
  CLIENT,
  cpuSeconds,
  createBenchOrder,
  hasTaskset,
  INQUIRE_PATH,
  ORDER_ID,
  outputOf,
  pinned,
  post,
  presign,
  tsArgs,
  type Signed,
} from './order-reconciliation-process';

/**
 * CPU per request on the D-Store edge: what a refused request costs the service, against an accepted one, in the
 * same run on the same pinned core (order-reconciliation as a real process on core 0; the client and nats-server on
 * core 1).
 *
 * - baseline: an accepted, signed inquireOrderDetail (verify, KV replay guard, KV read, signed answer);
 * - candidates, each refused:
 *   - source_limited: from a source over its rate limit (refused on the headers, before anything else);
 *   - no_client_id: no Client-Id (ACCESS_DENIED on the headers, before the body is read);
 *   - forged_signature: D-Store's Client-Id with a forged signature of the right length (the body is read and one
 *     RSA public-key verification runs; the answer is unsigned).
 * The source is the X-Forwarded-For entry (SOURCE_FROM_FORWARDED_FOR=1): each accepted or unsigned request names a
 * fresh source, and source_limited always the same one (its burst of 100 used up in the warm-up), so one process
 * serves every kind. Rounds alternate the
 * kinds; CPU time (user + system, /proc) divided by the requests answered, medians of the rounds.
 * Target: a refusal costs at most 0.25x an accepted request.
 */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DURATION_MS = Number(process.env.BENCH_THROUGHPUT_MS ?? 3000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);

type Kind = 'accepted' | 'source_limited' | 'no_client_id' | 'forged_signature';

let sourceSeq = 0;
/** A source address not seen before (10.0.0.0/8), so its bucket is full. */
function freshSource(): string {
  sourceSeq++;
  return `10.${(sourceSeq >> 16) & 255}.${(sourceSeq >> 8) & 255}.${sourceSeq & 255}`;
}

async function main() {
  if (hasTaskset) spawnSync('taskset', ['-pc', '1', String(process.pid)]);
  const nats = await startTestNatsServer();
  const pos = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const dstore = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const httpPort = await freePort();
  const base = `http://127.0.0.1:${httpPort}`;
  const service = pinned(
    0,
    tsArgs(join(__dirname, '../apps/order-reconciliation/src/main.ts')),
    benchServiceEnv(
      nats.url,
      httpPort,
      { dstorePublic: dstore.publicKey, posPrivate: pos.privateKey },
      {
        SOURCE_FROM_FORWARDED_FOR: '1',
        SOURCE_RATE_LIMIT_PER_SECOND: '0.01',
        SOURCE_RATE_LIMIT_BURST: '100',
        SOURCE_RATE_LIMIT_MAX_SOURCES: '10000000',
        REFUSAL_LOG_EVERY: '100000',
      },
    ),
  );
  const serviceOutput = outputOf(service);
  try {
    await waitFor(() => fetch(`${base}/`).then(() => true), {
      timeoutMs: 60_000,
      what: `the service (output: ${serviceOutput().slice(-500)})`,
    });
    await createBenchOrder(base, dstore.privateKey);
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const body = Buffer.from(JSON.stringify({ requestOrderId: ORDER_ID }));
    const forged = `algorithm=RSA256,keyVersion=1,signature=${encodeURIComponent(randomBytes(256).toString('base64'))}`;
    const expected: Record<Kind, string> = {
      accepted: 'SUCCESS',
      source_limited: 'REQUEST_TRAFFIC_EXCEED_LIMIT',
      no_client_id: 'ACCESS_DENIED',
      forged_signature: 'INVALID_SIGNATURE',
    };
    let failures = 0;
    const send = async (kind: Kind, signed?: Signed) => {
      const request: Signed =
        kind === 'accepted'
          ? {
              body: signed!.body,
              headers: { ...signed!.headers, 'X-Forwarded-For': freshSource() },
            }
          : kind === 'source_limited'
            ? { body, headers: { 'Client-Id': CLIENT, 'X-Forwarded-For': '192.0.2.1' } }
            : kind === 'no_client_id'
              ? { body, headers: { 'X-Forwarded-For': freshSource() } }
              : {
                  body,
                  headers: {
                    'Client-Id': CLIENT,
                    'Request-Time': String(Date.now()),
                    Signature: forged,
                    'X-Forwarded-For': freshSource(),
                  },
                };
      const answer = await post(agent, httpPort, INQUIRE_PATH, request);
      const code = (JSON.parse(answer.body.toString()) as { result: { resultCode: string } }).result
        .resultCode;
      const signedAnswer = answer.headers.signature !== undefined;
      if (code !== expected[kind] || signedAnswer !== (kind === 'accepted')) failures++;
    };

    /** CPU µs of the service per request of one kind, CONCURRENCY outstanding for DURATION_MS. */
    const measure = async (kind: Kind): Promise<{ cpuUs: number; rps: number }> => {
      const pool =
        kind === 'accepted' ? presign(dstore.privateKey, (DURATION_MS / 1000) * 1500) : [];
      let next = 0;
      let completed = 0;
      const deadline = Date.now() + DURATION_MS;
      const cpuBefore = cpuSeconds(service.pid!);
      const started = process.hrtime.bigint();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (Date.now() < deadline && (kind !== 'accepted' || next < pool.length)) {
            await send(kind, pool[next++]);
            completed++;
          }
        }),
      );
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      return {
        cpuUs: ((cpuSeconds(service.pid!) - cpuBefore) / completed) * 1e6,
        rps: completed / seconds,
      };
    };

    // Warm-up of every path.
    for (const kind of Object.keys(expected) as Kind[]) {
      const signed = presign(dstore.privateKey, 200);
      for (let i = 0; i < 200; i++) await send(kind, signed[i]);
    }
    // The warm-up's first source_limited requests were within the burst (and refused for their signature).
    failures = 0;
    const kinds = Object.keys(expected) as Kind[];
    const cpu = Object.fromEntries(kinds.map((k) => [k, [] as number[]])) as Record<Kind, number[]>;
    const rps = Object.fromEntries(kinds.map((k) => [k, [] as number[]])) as Record<Kind, number[]>;
    const loads: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const kind of kinds) {
        const result = await measure(kind);
        cpu[kind].push(result.cpuUs);
        rps[kind].push(result.rps);
      }
      loads.push(loadavg()[0]);
      process.stderr.write(
        `round ${round + 1}/${ROUNDS} (load average ${loads.at(-1)!.toFixed(1)}): ` +
          kinds.map((k) => `${k} ${cpu[k].at(-1)!.toFixed(0)} µs`).join(', ') +
          '\n',
      );
    }
    if (failures > 0) throw new Error(`${failures} answers were not the expected code and signing`);
    const accepted = median(cpu.accepted);
    const pass = report(
      'order-reconciliation-edge',
      (['source_limited', 'no_client_id', 'forged_signature'] as Kind[]).map((kind) =>
        compare(`service CPU per request: ${kind} vs accepted`, 'µs', accepted, median(cpu[kind]), {
          max: 0.25,
        }),
      ),
      {
        rounds: ROUNDS,
        durationMs: DURATION_MS,
        concurrency: CONCURRENCY,
        pinned: hasTaskset,
        loadAverage: loads,
        cpuUsPerRequest: Object.fromEntries(kinds.map((k) => [k, median(cpu[k])])),
        requestsPerSecond: Object.fromEntries(kinds.map((k) => [k, median(rps[k])])),
        series: { cpu, rps },
      },
    );
    console.log(
      `load average ${loads.map((l) => l.toFixed(1)).join(', ')}; requests/s: ` +
        kinds.map((k) => `${k} ${median(rps[k]).toFixed(0)}`).join(', ') +
        `; pinned to one core: ${hasTaskset}`,
    );
    process.exitCode = pass ? 0 : 1;
  } finally {
    service.kill('SIGTERM');
    if (service.exitCode === null && service.signalCode === null)
      await new Promise((resolve) => service.once('exit', resolve));
    await nats.dispose();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
