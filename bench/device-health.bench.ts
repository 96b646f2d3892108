import 'reflect-metadata';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, spawnTypeScript, startTestNatsServer, waitFor } from '@tillbus/testing';
import { compare, median, percentile, report } from './harness';

/**
 * device-health against a simulated fleet of 10,000 Antom terminals (one simulator process, RSA-signed both ways):
 * - candidate: one device-health replica (its own process) polling the whole fleet with an interval short enough to
 *   keep it saturated; sustained diagnoses/s = its ok diagnoses over a measured window. Each diagnosis is a KV claim,
 *   a signed POST, the answer's signature check, the mapping, a compare-and-set write of the health cache.
 * - baseline: raw HTTP diagnoses from a process of their own, with the same signing, verification, parsing and
 *   concurrency, no Nest, no NATS; rounds alternate (the replica is frozen with SIGSTOP while the baseline runs).
 * Also reported: the replica's RSS with 10,000 terminals in memory, and how long a /metrics scrape takes.
 */
const TERMINALS = Number(process.env.BENCH_TERMINALS ?? 10_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? 8000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const INTERVAL_MS = Number(process.env.BENCH_INTERVAL_MS ?? 2000);
const ROOT = resolve(__dirname, '..');
const REGISTER = require.resolve('@swc-node/register');

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'tillbus-bench-device-health-'));
  const nats = await startTestNatsServer();
  const sim = spawnSimulator([
    'antom-fleet',
    '--terminals',
    String(TERMINALS),
    '--port',
    '0',
    '--keys-dir',
    join(dir, 'keys'),
  ]);
  let replica: ReturnType<typeof spawnTypeScript> | undefined;
  try {
    const url = (await sim.waitFor(/terminals at (http:\/\/[^\s]+) /))[1];
    const serials = Array.from(
      { length: TERMINALS },
      (_, i) => `ANTOMSIM${String(i + 1).padStart(6, '0')}`,
    );

    // Baseline: the same exchange, straight over HTTP, from a process of its own (bench/fixtures/device-health-raw.ts).
    const raw = async () => {
      const child = spawnTypeScript(join(__dirname, 'fixtures/device-health-raw.ts'), {
        SIM_URL: url,
        KEYS_DIR: join(dir, 'keys'),
        TERMINALS: String(TERMINALS),
        CONCURRENCY: String(CONCURRENCY),
        DURATION_MS: String(WINDOW_MS),
      });
      const line = await child.waitForOutput(/\{"rate".*\}/, WINDOW_MS + 60_000);
      await child.exited;
      return JSON.parse(line) as {
        rate: number;
        failed: number;
        cpuMsPerDiagnosis: number;
        rss: number;
      };
    };

    // Candidate: one replica polling the fleet.
    const seed = join(dir, 'terminals.json');
    writeFileSync(
      seed,
      JSON.stringify(
        serials.map((serial, i) => ({
          terminalId: `antom-${serial}`,
          vendor: 'antom',
          vendorId: serial,
          storeId: `store-${i % 500}`,
          connection: {
            kind: 'antom',
            baseUrl: url,
            privateKeyRef: `file:${join(dir, 'keys', 'pos-private.pem')}`,
            terminalPublicKeyRef: `file:${join(dir, 'keys', 'terminal-public.pem')}`,
          },
        })),
      ),
    );
    const env = {
      NATS_URL: nats.url,
      LOG_LEVEL: 'warn',
      TERMINALS_FILE: seed,
      POLL_INTERVAL_MS: String(INTERVAL_MS),
      POLL_CONCURRENCY: String(CONCURRENCY),
      DIAGNOSIS_TIMEOUT_MS: String(Math.floor(INTERVAL_MS / 2)),
    };
    const opsPort = await freePort();
    const seedStarted = Date.now();
    replica = spawnTypeScript(join(ROOT, 'apps/device-health/src/main.ts'), {
      ...env,
      OPS_PORT: String(opsPort),
    });
    const ok = async () =>
      scrapeValue(
        opsPort,
        'tillbus_device_health_diagnoses_total{vendor="antom",outcome="ok",trigger="poll"}',
      );
    await waitFor(async () => (await ok()) > TERMINALS / 10, {
      timeoutMs: 120_000,
      intervalMs: 250,
      what: 'the replica polling',
    });
    process.stderr.write(
      `replica seeded ${TERMINALS} terminals and polls (${((Date.now() - seedStarted) / 1000).toFixed(1)} s)\n`,
    );

    // Rounds alternate, so machine drift hits both: the replica is frozen (SIGSTOP) while the baseline runs.
    const baselineRuns: number[] = [];
    let baselineRss = 0;
    const baselineCpu: number[] = [];
    const candidateCpu: number[] = [];
    const natsCpu: number[] = [];
    const natsPid = findNatsServerPid(nats.port);
    const candidateRuns: number[] = [];
    const memory = { rssMax: 0, heapMin: Number.POSITIVE_INFINITY, heapMax: 0 };
    for (let round = 1; round <= ROUNDS; round++) {
      replica.process.kill('SIGSTOP');
      const run = await raw();
      baselineRuns.push(run.rate);
      baselineCpu.push(run.cpuMsPerDiagnosis);
      baselineRss = run.rss;
      replica.process.kill('SIGCONT');
      await sleep(2500);
      const before = await ok();
      const cpuBefore = cpuSeconds(replica.process.pid!) + cpuSeconds(natsPid);
      const natsBefore = cpuSeconds(natsPid);
      const started = process.hrtime.bigint();
      const deadline = Date.now() + WINDOW_MS;
      while (Date.now() < deadline) {
        await sleep(Math.min(1000, deadline - Date.now()));
        const rss = await scrapeValue(opsPort, 'process_resident_memory_bytes');
        const heap = await scrapeValue(opsPort, 'nodejs_heap_size_used_bytes');
        memory.rssMax = Math.max(memory.rssMax, rss);
        memory.heapMin = Math.min(memory.heapMin, heap);
        memory.heapMax = Math.max(memory.heapMax, heap);
      }
      const after = await ok();
      const cpuAfter = cpuSeconds(replica.process.pid!) + cpuSeconds(natsPid);
      natsCpu.push(((cpuSeconds(natsPid) - natsBefore) * 1000) / (after - before));
      candidateRuns.push((after - before) / (Number(process.hrtime.bigint() - started) / 1e9));
      candidateCpu.push(((cpuAfter - cpuBefore) * 1000) / (after - before));
      process.stderr.write(
        `round ${round}: baseline ${baselineRuns.at(-1)!.toFixed(0)}, replica ${candidateRuns.at(-1)!.toFixed(0)} diagnoses/s\n`,
      );
    }
    const baseline = median(baselineRuns);
    const candidate = median(candidateRuns);
    const failures = await scrapeValue(
      opsPort,
      'tillbus_device_health_diagnoses_total',
      (line) => !line.includes('outcome="ok"'),
    );
    const rss = memory.rssMax;
    const skipped = await scrapeValue(opsPort, 'tillbus_device_health_poll_skipped_total');
    const busyScrapes = await timeScrapes(opsPort);

    // The cost of the fleet gauges alone: a replica that holds the fleet and does not poll.
    const idlePort = await freePort();
    const idle = spawnTypeScript(join(ROOT, 'apps/device-health/src/main.ts'), {
      ...env,
      OPS_PORT: String(idlePort),
      POLL_ENABLED: 'false',
      TERMINALS_FILE: '',
    });
    await waitFor(
      async () => (await scrapeValue(idlePort, 'tillbus_device_health_terminals')) === TERMINALS,
      { timeoutMs: 60_000, intervalMs: 250, what: 'the idle replica loading the fleet' },
    );
    const idleScrapes = await timeScrapes(idlePort);
    const idleRss = await scrapeValue(idlePort, 'process_resident_memory_bytes');
    idle.kill('SIGTERM');
    await idle.exited;
    replica.kill('SIGTERM');
    await replica.exited;
    replica = undefined;

    const pass = report(
      'device-health',
      [
        compare('sustained diagnoses, one replica', 'diag/s', baseline, candidate, { min: 0.7 }),
        compare(
          'CPU per diagnosis (replica + nats-server vs raw client)',
          'ms',
          median(baselineCpu),
          median(candidateCpu),
          {},
        ),
        compare('RSS (max while polling)', 'MiB', baselineRss / 2 ** 20, rss / 2 ** 20, {}),
      ],
      {
        terminals: TERMINALS,
        concurrency: CONCURRENCY,
        windowMs: WINDOW_MS,
        intervalMs: INTERVAL_MS,
        rounds: ROUNDS,
        baselineRuns,
        candidateRuns,
        baselineCpuMsPerDiagnosis: baselineCpu,
        candidateCpuMsPerDiagnosis: candidateCpu,
        natsServerCpuMsPerDiagnosis: natsCpu,
        candidateFailures: failures,
        skippedSlots: skipped,
        replicaHeapUsedMiB: { min: memory.heapMin / 2 ** 20, max: memory.heapMax / 2 ** 20 },
        idleReplicaRssMiB: idleRss / 2 ** 20,
        metricsScrapeMs: { underLoad: busyScrapes, idle: idleScrapes },
      },
    );
    console.log(
      `/metrics scrape with ${TERMINALS} terminals: idle replica p50 ${idleScrapes.p50.toFixed(1)} ms / p99 ${idleScrapes.p99.toFixed(1)} ms; ` +
        `polling at full load p50 ${busyScrapes.p50.toFixed(1)} ms / p99 ${busyScrapes.p99.toFixed(1)} ms. ` +
        `RSS: polling replica ${(rss / 2 ** 20).toFixed(0)} MiB max while polling (heap used ${(memory.heapMin / 2 ** 20).toFixed(0)}-${(memory.heapMax / 2 ** 20).toFixed(0)} MiB), idle replica ${(idleRss / 2 ** 20).toFixed(0)} MiB. ` +
        `nats-server CPU per diagnosis ${median(natsCpu).toFixed(2)} ms. ` +
        `Failed diagnoses ${failures}; slots skipped (saturated on purpose) ${skipped}`,
    );
    process.exitCode = pass ? 0 : 1;
  } finally {
    if (replica) {
      replica.kill('SIGKILL');
      await replica.exited;
    }
    await sim.close();
    await nats.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function timeScrapes(port: number, count = 30) {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = process.hrtime.bigint();
    await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99) };
}

async function scrapeValue(
  port: number,
  series: string,
  filter: (line: string) => boolean = () => true,
): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(series) || !filter(line)) continue;
    const rest = line.slice(series.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

function spawnSimulator(args: string[]) {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--conditions=tillbus-source',
      '-r',
      REGISTER,
      join(ROOT, 'apps/simulators/src/main.ts'),
      ...args,
    ],
    {
      env: { ...process.env, TS_NODE_PROJECT: join(ROOT, 'tsconfig.json') },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  return {
    waitFor: async (pattern: RegExp) => {
      await waitFor(() => pattern.test(output) || child.exitCode !== null, {
        timeoutMs: 60_000,
        what: `simulator ${pattern}`,
      });
      const match = output.match(pattern);
      if (!match) throw new Error(`simulator failed:\n${output}`);
      return match;
    },
    close: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** User + system CPU seconds of a process, from /proc (0 when it cannot be read). */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

function findNatsServerPid(port: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (args[0].endsWith('nats-server') && args.includes(String(port))) return Number(entry);
    } catch {
      // the process ended while we looked
    }
  }
  return undefined;
}

const CLOCK_TICKS =
  Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
