import 'reflect-metadata';
import { connect } from '@nats-io/transport-node';
import { requestJson, safeConnectionOptions } from '@tillbus/messaging';
import { spawnTypeScript, startTestNatsServer, waitFor } from '@tillbus/testing';
import { join } from 'node:path';
import { compare, measureLatency, measureThroughput, median, report } from './harness';

/**
 * Request/reply through the messaging lib against raw @nats-io/transport-node, each service in its own process
 * (as in production) on one local nats-server:
 * - candidate: the messaging test service (Nest handler, validation pipe, queue group, correlation id, metrics),
 *   called with the lib's client (timeout, correlation header, reply decoding);
 * - baseline: a raw nats.js responder, called with a raw nats.js request.
 * Rounds alternate baseline and candidate so drift hits both; medians of the rounds are compared.
 */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const LATENCY_ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 3000);
const THROUGHPUT_MS = Number(process.env.BENCH_THROUGHPUT_MS ?? 3000);
const payload = { id: 'order-123' };

async function main() {
  const nats = await startTestNatsServer();
  const service = spawnTypeScript(join(__dirname, '../libs/runtime/test/fixtures/echo-main.ts'), {
    NATS_URL: nats.url,
    OPS_PORT: '0',
    LOG_LEVEL: 'warn',
  });
  const responder = spawnTypeScript(join(__dirname, 'fixtures/raw-responder.ts'), {
    NATS_URL: nats.url,
  });
  try {
    await responder.waitForOutput(/raw responder ready/, 60_000);
    const client = await connect(
      safeConnectionOptions({
        service: 'bench',
        servers: nats.url,
        requestTimeoutMs: 5000,
        shutdownGraceMs: 0,
      }),
    );
    const connection = { connect: async () => client };
    const viaLib = () => requestJson(connection, 'tillbus.test.echo', payload, { timeoutMs: 5000 });
    await waitFor(() => viaLib().then(() => true), { timeoutMs: 60_000, what: 'the Nest service' });
    const raw = async () => {
      const reply = await client.request('bench.raw', JSON.stringify(payload), { timeout: 5000 });
      return JSON.parse(Buffer.from(reply.data).toString()) as unknown;
    };

    const series = {
      raw: { p50: [] as number[], p99: [] as number[], rps: [] as number[] },
      lib: { p50: [] as number[], p99: [] as number[], rps: [] as number[] },
    };
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, call] of [
        ['raw', raw],
        ['lib', viaLib],
      ] as const) {
        const latency = await measureLatency(call, LATENCY_ITERATIONS);
        series[name].p50.push(latency.p50Us);
        series[name].p99.push(latency.p99Us);
        series[name].rps.push(await measureThroughput(call, 64, THROUGHPUT_MS));
      }
      process.stderr.write(`round ${round + 1}/${ROUNDS}\n`);
    }
    const pass = report(
      'messaging-request-reply',
      [
        compare('sequential p50', 'µs', median(series.raw.p50), median(series.lib.p50), {
          max: 1.3,
        }),
        compare('sequential p99', 'µs', median(series.raw.p99), median(series.lib.p99), {}),
        compare(
          'throughput @64 concurrent',
          'req/s',
          median(series.raw.rps),
          median(series.lib.rps),
          { min: 0.8 },
        ),
      ],
      {
        rounds: ROUNDS,
        latencyIterations: LATENCY_ITERATIONS,
        throughputMs: THROUGHPUT_MS,
        series,
      },
    );
    await client.close();
    process.exitCode = pass ? 0 : 1;
  } finally {
    service.kill();
    responder.kill();
    await Promise.all([service.exited, responder.exited]);
    await nats.dispose();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
