import { cpus, totalmem } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LatencyStats {
  p50Us: number;
  p99Us: number;
  samples: number;
}

/** Sequential latency: one call at a time, after a warm-up. */
export async function measureLatency(
  call: () => Promise<unknown>,
  iterations: number,
  warmup = 500,
): Promise<LatencyStats> {
  for (let i = 0; i < warmup; i++) await call();
  const samples = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) {
    const start = process.hrtime.bigint();
    await call();
    samples[i] = Number(process.hrtime.bigint() - start) / 1000;
  }
  samples.sort();
  return { p50Us: percentile(samples, 0.5), p99Us: percentile(samples, 0.99), samples: iterations };
}

/** Throughput with `concurrency` calls always outstanding, for `durationMs`. */
export async function measureThroughput(
  call: () => Promise<unknown>,
  concurrency: number,
  durationMs: number,
): Promise<number> {
  let completed = 0;
  const deadline = Date.now() + durationMs;
  const started = process.hrtime.bigint();
  const worker = async () => {
    while (Date.now() < deadline) {
      await call();
      completed++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return completed / seconds;
}

export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[index];
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return percentile(sorted, 0.5);
}

export interface Comparison {
  metric: string;
  unit: string;
  baseline: number;
  candidate: number;
  /** candidate / baseline */
  ratio: number;
  target: string;
  pass: boolean;
}

export function compare(
  metric: string,
  unit: string,
  baseline: number,
  candidate: number,
  target: { max?: number; min?: number },
): Comparison {
  const ratio = candidate / baseline;
  const pass =
    (target.max === undefined || ratio <= target.max) &&
    (target.min === undefined || ratio >= target.min);
  const text =
    target.max !== undefined
      ? `ratio <= ${target.max}`
      : target.min !== undefined
        ? `ratio >= ${target.min}`
        : 'reported';
  return { metric, unit, baseline, candidate, ratio, target: text, pass };
}

export function machine(): string {
  return `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
}

/** Prints the table and writes bench/results/<name>.json (not committed; bench/README.md holds the record). */
export function report(
  name: string,
  comparisons: Comparison[],
  extra: Record<string, unknown> = {},
): boolean {
  const rows = comparisons.map((c) => ({
    metric: c.metric,
    baseline: `${c.baseline.toFixed(1)} ${c.unit}`,
    candidate: `${c.candidate.toFixed(1)} ${c.unit}`,
    ratio: c.ratio.toFixed(2),
    target: c.target,
    result: c.pass ? 'PASS' : 'FAIL',
  }));
  console.log(`\n${name} — ${machine()} — ${new Date().toISOString()}`);
  console.table(rows);
  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, `${name}.json`),
    JSON.stringify(
      { name, machine: machine(), date: new Date().toISOString(), comparisons, ...extra },
      null,
      2,
    ),
  );
  return comparisons.every((c) => c.pass);
}
