import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { SUBJECTS } from '@tillbus/contracts';
import { requestJson, safeConnectionOptions } from '@tillbus/messaging';
import { spawnTypeScript, startTestNatsServer, waitFor, type ChildService } from '@tillbus/testing';
import { compare, measureLatency, median, percentile, report } from './harness';

/**
 * edc-command against one raw nats.js request/reply, in the same run, each part in its own process on one local
 * nats-server:
 * - candidate: `tillbus.edc.command.submit-and-wait` for a Purchase, POS → edc-command (KV lock and record,
 *   bridge command and ack) → simulated bridge with an instant device (events and result on JetStream) →
 *   edc-command (record updates, device release, outcome event) → reply. Target: p50 at most 3× raw.
 * - baseline: a raw nats.js responder, called with a raw nats.js request.
 * Then 5,000 devices, each with a command in flight: the service's RSS, the p50/p99 of those 5,000 submits, and
 * the p99 of the candidate path measured while they are all in flight.
 */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 600);
const HELD_DEVICES = Number(process.env.BENCH_HELD_DEVICES ?? 5_000);
const HELD_PER_BRIDGE = 50;
const SUBMIT_CONCURRENCY = 64;

let counter = 0;
const requestId = (label: string) => `${label}-${Date.now().toString(36)}-${counter++}`;

function purchase(deviceId: string, id: string) {
  return {
    deviceId,
    requestId: id,
    commandName: 'Purchase',
    params: {
      paymentAmount: { value: '104', currency: 'KRW' },
      tipAmount: { value: '0', currency: 'KRW' },
      creditPayPlan: { installmentNum: '0' },
      paymentExpiryTime: '600',
      acquirerInfo: { acquirerTerminalId: '0788888', acquirerRegistrationNo: '0216001234' },
    },
  };
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

function simulator(natsUrl: string, argv: string[]): ChildService {
  return spawnTypeScript(join(__dirname, 'fixtures/edc-simulator.ts'), {
    NATS_URL: natsUrl,
    SIM_ARGV: JSON.stringify([
      '--nats',
      natsUrl,
      '--heartbeat-ms',
      '2000',
      '--skip-codec-checks',
      ...argv,
    ]),
  });
}

async function main() {
  const nats = await startTestNatsServer();
  const service = spawnTypeScript(join(__dirname, '../apps/edc-command/src/main.ts'), {
    NATS_URL: nats.url,
    OPS_PORT: '0',
    LOG_LEVEL: 'info',
    REPLICA_ID: 'bench',
    EDC_FULL_SCAN_INTERVAL_MS: '0',
  });
  const responder = spawnTypeScript(join(__dirname, 'fixtures/raw-responder.ts'), {
    NATS_URL: nats.url,
  });
  const relay = spawnTypeScript(join(__dirname, 'fixtures/edc-raw-relay.ts'), {
    NATS_URL: nats.url,
  });
  const instant = simulator(nats.url, [
    '--prefix',
    'fast',
    '--bridges',
    '10',
    '--devices',
    '10',
    '--timing',
    'instant',
    '--control-subject',
    'tillbus.sim.kicc-bridge.fast',
  ]);
  const held = simulator(nats.url, [
    '--prefix',
    'held',
    '--bridges',
    String(Math.ceil(HELD_DEVICES / HELD_PER_BRIDGE)),
    '--devices',
    String(HELD_PER_BRIDGE),
    '--timing',
    'instant',
    '--hold-at',
    'CARD_READ_COMPLETED',
    '--control-subject',
    'tillbus.sim.kicc-bridge.held',
  ]);
  let client: NatsConnection | undefined;
  try {
    await Promise.all([
      responder.waitForOutput(/raw responder ready/, 60_000),
      relay.waitForOutput(/raw relay ready/, 60_000),
      service.waitForOutput(/"msg":"edc engine ready"/, 90_000),
      instant.waitForOutput(/simulator ready/, 60_000),
      held.waitForOutput(/simulator ready/, 90_000),
    ]);
    client = await connect(
      safeConnectionOptions({
        service: 'bench',
        servers: nats.url,
        requestTimeoutMs: 30_000,
        shutdownGraceMs: 0,
      }),
    );
    const nc = client;
    const connection = { connect: async () => nc };
    const fastDevices = Array.from(
      { length: 100 },
      (_, i) => `fast-b${Math.floor(i / 10)}-d${i % 10}`,
    );
    let next = 0;
    // where the time goes, from the service's own event timestamps (ms resolution)
    const stages = new Map<
      string,
      { t0: number; sent?: number; device?: number; outcome?: number; t1?: number }
    >();
    const stageEvents = nc.subscribe('tillbus.events.edc.>', {
      callback: (_error, msg) => {
        const event = JSON.parse(Buffer.from(msg.data).toString()) as {
          requestId: string;
          type: string;
          at: number;
        };
        const stage = stages.get(event.requestId);
        if (!stage) return;
        if (event.type === 'phase' && stage.sent === undefined) stage.sent = event.at;
        if (event.type === 'device_event' && stage.device === undefined) stage.device = event.at;
        if (event.type === 'outcome') stage.outcome = event.at;
      },
    });
    const edc = () => {
      const id = requestId('p');
      const stage = { t0: Date.now() } as { t0: number; t1?: number };
      stages.set(id, stage);
      return requestJson<{ outcome: string }>(
        connection,
        SUBJECTS.edc.submitAndWait,
        purchase(fastDevices[next++ % fastDevices.length], id),
        { timeoutMs: 30_000 },
      ).then((view) => {
        stage.t1 = Date.now();
        if (view.outcome !== 'SUCCESS') throw new Error(`outcome ${view.outcome}`);
      });
    };
    const raw = async () => {
      const reply = await nc.request('bench.raw', JSON.stringify({ id: 'order-123' }), {
        timeout: 5000,
      });
      return JSON.parse(Buffer.from(reply.data).toString()) as unknown;
    };
    const relayed = async () => {
      const reply = await nc.request('bench.relay', JSON.stringify({ id: 'order-123' }), {
        timeout: 5000,
      });
      return JSON.parse(Buffer.from(reply.data).toString()) as unknown;
    };
    // the service has heard every bridge once this passes for the last device
    await waitFor(
      () =>
        requestJson(
          connection,
          SUBJECTS.edc.submitAndWait,
          purchase(fastDevices[99], requestId('w')),
          { timeoutMs: 10_000 },
        ).then(() => true),
      { timeoutMs: 60_000, intervalMs: 500, what: 'edc-command to take commands' },
    );

    const series = {
      raw: { p50: [] as number[], p99: [] as number[] },
      relay: { p50: [] as number[], p99: [] as number[] },
      edc: { p50: [] as number[], p99: [] as number[] },
    };
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, call] of [
        ['raw', raw],
        ['relay', relayed],
        ['edc', edc],
      ] as const) {
        const latency = await measureLatency(call, ITERATIONS, 100);
        series[name].p50.push(latency.p50Us);
        series[name].p99.push(latency.p99Us);
      }
      process.stderr.write(`round ${round + 1}/${ROUNDS}\n`);
    }
    const idleRss = rssMiB(service.process.pid!);
    stageEvents.unsubscribe();
    const complete = [...stages.values()].filter(
      (st) =>
        st.sent !== undefined &&
        st.device !== undefined &&
        st.outcome !== undefined &&
        st.t1 !== undefined,
    );
    const stageMs = {
      acceptedAndSent: median(complete.map((st) => st.sent! - st.t0)),
      firstDeviceEvent: median(complete.map((st) => st.device! - st.sent!)),
      outcome: median(complete.map((st) => st.outcome! - st.device!)),
      reply: median(complete.map((st) => st.t1! - st.outcome!)),
      samples: complete.length,
    };
    stages.clear();

    // 5,000 devices, each with a command in flight (held after the card is read, so nothing cancels them)
    const heldDevices = Array.from(
      { length: HELD_DEVICES },
      (_, i) => `held-b${Math.floor(i / HELD_PER_BRIDGE)}-d${i % HELD_PER_BRIDGE}`,
    );
    await waitFor(
      () =>
        requestJson(
          connection,
          SUBJECTS.edc.get,
          { deviceId: heldDevices.at(-1), requestId: 'probe' },
          { timeoutMs: 5_000 },
        ).catch(() => true),
      { what: 'the service' },
    );
    await new Promise((resolve) => setTimeout(resolve, 4_000)); // every held bridge has beaten at least once
    const submitLatencies: number[] = [];
    const refusals: Record<string, number> = {};
    let index = 0;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: SUBMIT_CONCURRENCY }, async () => {
        while (index < heldDevices.length) {
          const deviceId = heldDevices[index++];
          const t0 = process.hrtime.bigint();
          try {
            await requestJson(
              connection,
              SUBJECTS.edc.submit,
              purchase(deviceId, requestId('held')),
              { timeoutMs: 30_000 },
            );
            submitLatencies.push(Number(process.hrtime.bigint() - t0) / 1000);
          } catch (error) {
            const code = (error as { code?: string }).code ?? 'ERROR';
            refusals[code] = (refusals[code] ?? 0) + 1;
          }
        }
      }),
    );
    const submitSeconds = (Date.now() - started) / 1000;
    submitLatencies.sort((a, b) => a - b);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const loadedRss = rssMiB(service.process.pid!);
    const underLoad = await measureLatency(edc, 300, 20);
    const heldRss = rssMiB(service.process.pid!);
    const ops = JSON.parse(
      Buffer.from(
        (
          await nc.request('tillbus.sim.kicc-bridge.held', JSON.stringify({ op: 'release' }), {
            timeout: 10_000,
          })
        ).data,
      ).toString(),
    ) as { ok: boolean };
    if (!ops.ok) throw new Error('could not release the held devices');

    const pass = report(
      'edc-command',
      [
        compare(
          'submit-and-wait p50 (instant device)',
          'µs',
          median(series.raw.p50),
          median(series.edc.p50),
          { max: 3 },
        ),
        compare(
          'submit-and-wait p99 (instant device)',
          'µs',
          median(series.raw.p99),
          median(series.edc.p99),
          {},
        ),
        compare(
          'submit-and-wait p50 vs a raw relay of the same route',
          'µs',
          median(series.relay.p50),
          median(series.edc.p50),
          {},
        ),
        compare(
          'submit-and-wait p99, 5,000 commands in flight',
          'µs',
          median(series.raw.p99),
          underLoad.p99Us,
          {},
        ),
      ],
      {
        rounds: ROUNDS,
        iterations: ITERATIONS,
        series,
        stageMs,
        inFlight: {
          devices: HELD_DEVICES,
          accepted: submitLatencies.length,
          refusals,
          submitSeconds,
          submitP50Us: percentile(submitLatencies, 0.5),
          submitP99Us: percentile(submitLatencies, 0.99),
          underLoadP50Us: underLoad.p50Us,
          underLoadP99Us: underLoad.p99Us,
          rssMiB: { idle: idleRss, with5000InFlight: loadedRss, afterLoadedLatency: heldRss },
        },
      },
    );
    console.log(`stages (median ms): ${JSON.stringify(stageMs)}`);
    console.log(
      `5,000 in flight: ${submitLatencies.length} accepted in ${submitSeconds.toFixed(1)} s (${JSON.stringify(refusals)}), ` +
        `submit p50 ${percentile(submitLatencies, 0.5).toFixed(0)} µs p99 ${percentile(submitLatencies, 0.99).toFixed(0)} µs; ` +
        `submit-and-wait under load p50 ${underLoad.p50Us.toFixed(0)} µs p99 ${underLoad.p99Us.toFixed(0)} µs; ` +
        `RSS idle ${idleRss.toFixed(0)} MiB, with 5,000 in flight ${loadedRss.toFixed(0)} MiB`,
    );
    process.exitCode = pass ? 0 : 1;
  } finally {
    await client?.close().catch(() => undefined);
    const children = [service, responder, relay, instant, held];
    for (const child of children) child.kill();
    await Promise.all(children.map((child) => child.exited));
    await nats.dispose();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
