// `tillbus --help`: time from spawning the process to its first byte on stdout, against `node -e` printing one
// line (the floor any Node CLI pays), measured in the same run with alternating rounds. Target: under 300 ms for
// the CLI, and the load average is printed with it, because a shared machine moves both numbers.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { compare, median, report } from './harness';

const ROOT = join(__dirname, '..');
const BIN = join(ROOT, 'apps/cli/bin/tillbus.js');
const BUILT = join(ROOT, 'apps/cli/dist/main.js');
const ROUNDS = Number(process.env.CLI_BENCH_ROUNDS ?? 15);
const TARGET_MS = 300;

/** Milliseconds from spawn to the first stdout chunk (the process then runs to its end). */
function firstOutput(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    let first: number | undefined;
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, TILLBUS_CLI_FROM_SOURCE: '' },
    });
    child.stdout.on('data', () => {
      first ??= Number(process.hrtime.bigint() - started) / 1e6;
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0 || first === undefined) reject(new Error(`${args.join(' ')} exited ${code}`));
      else resolve(first);
    });
  });
}

async function main(): Promise<void> {
  if (!existsSync(BUILT)) {
    console.error(
      'build the CLI first: npx nx run-many -t build -p @tillbus/cli @tillbus/contracts @tillbus/messaging',
    );
    process.exit(2);
  }
  const floor: number[] = [];
  const cli: number[] = [];
  const loadBefore = loadavg();
  await firstOutput(['-e', 'console.log(1)']); // warm the file cache for both
  await firstOutput([BIN, '--help']);
  for (let round = 0; round < ROUNDS; round++) {
    floor.push(await firstOutput(['-e', 'console.log("tillbus")']));
    cli.push(await firstOutput([BIN, '--help']));
  }
  const loadAfter = loadavg();
  const floorMs = median(floor);
  const cliMs = median(cli);
  const comparison = compare('time to first output, median', 'ms', floorMs, cliMs, {});
  const passed = report(
    'cli-start',
    [{ ...comparison, target: `< ${TARGET_MS} ms`, pass: cliMs < TARGET_MS }],
    {
      rounds: ROUNDS,
      floorMs: floor,
      cliMs: cli,
      loadAverage: { before: loadBefore, after: loadAfter },
    },
  );
  console.log(
    `node -e floor ${floorMs.toFixed(0)} ms, tillbus --help ${cliMs.toFixed(0)} ms ` +
      `(p90 ${[...cli].sort((a, b) => a - b)[Math.ceil(cli.length * 0.9) - 1].toFixed(0)} ms), ` +
      `target < ${TARGET_MS} ms: ${passed ? 'met' : 'NOT met'}; load average ` +
      `${loadBefore.map((l) => l.toFixed(2)).join(' ')} before, ${loadAfter.map((l) => l.toFixed(2)).join(' ')} after`,
  );
  process.exitCode = passed ? 0 : 1;
}

void main();
