import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadDemoConfig } from './config';
import { readLock, pidAlive } from './lock';
import { findNatsServerBinary, StackError } from './nats';
import { buildPlan, demoKeySpecs, plannedPorts, type PlanMode } from './plan';
import { ensureKeys } from './keys';
import { runLogged, runStack } from './stack';

const ROOT = resolve(__dirname, '..', '..');

const HELP = `npm start [-- options]: runs tillbus locally, every service and simulator as its own process.

options:
  --config <file>   the demo configuration (default demo/tillbus.demo.yaml)
  --no-build        skip the build and run what is built
  --from-source     run the TypeScript sources through SWC instead of building (slower to start)
  --verbose         print every log line of every process (they are always in .tillbus/logs/)
  --respawn         once up, start a process again when it exits, instead of stopping the stack; one that
                    keeps exiting is backed off (1 s doubling to 30 s) and left down at its 8th quick exit
  --state-dir <dir> where keys, logs, the lock and the NATS store live (default .tillbus)
  --status          say whether a stack runs in this checkout, and where
  --stop            stop the stack running in this checkout
  --help            this text

NATS: NATS_URL when it is set and answers (the stack then uses whatever state that server holds, and says so);
else this checkout's own nats-server when it already runs on 127.0.0.1:4222; else nats-server -js is started,
with its store in .tillbus/nats: on 4222, or on the next free port when another NATS holds 4222 (its orders,
sessions and devices are not this stack's; the CLI then needs NATS_URL, printed at start). Keys are generated on
first start into .tillbus/keys.
`;

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', default: join(ROOT, 'demo', 'tillbus.demo.yaml') },
        'no-build': { type: 'boolean', default: false },
        'from-source': { type: 'boolean', default: false },
        verbose: { type: 'boolean', default: false },
        respawn: { type: 'boolean', default: false },
        'state-dir': { type: 'string', default: join(ROOT, '.tillbus') },
        status: { type: 'boolean', default: false },
        stop: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const stateDir = resolve(values['state-dir']);
  const out = (line: string) => process.stdout.write(`${line}\n`);
  if (values.status || values.stop) return statusOrStop(stateDir, values.stop, out);

  let config;
  try {
    config = loadDemoConfig(resolve(values.config));
  } catch (error) {
    out((error as Error).message);
    return 1;
  }
  const mode: PlanMode = values['from-source'] ? 'source' : 'built';
  return runStack({
    stateDir,
    out,
    verbose: values.verbose,
    respawn: values.respawn,
    ports: plannedPorts(config),
    nats: { envUrl: process.env.NATS_URL || undefined, findBinary: () => findNatsServerBinary() },
    prepare: async (abort) => {
      if (mode === 'built' && !values['no-build']) {
        out(
          `building (Nx, cached after the first run; log in ${join(stateDir, 'logs', 'build.log')})…`,
        );
        const started = Date.now();
        await runLogged(
          process.execPath,
          [nxBin(), 'run-many', '-t', 'build', '--outputStyle=static'],
          join(stateDir, 'logs', 'build.log'),
          ROOT,
          // No Nx daemon: it would outlive the stack.
          { NX_DAEMON: 'false' },
          abort,
        );
        out(`built in ${Math.round((Date.now() - started) / 1000)} s`);
      }
      const keys = ensureKeys(join(stateDir, 'keys'), demoKeySpecs());
      if (keys.created.length > 0) {
        out(
          `generated demo keys in ${join(stateDir, 'keys')}: ${keys.created.join(', ')} (never committed)`,
        );
      }
    },
    plan: (nats) =>
      buildPlan({
        root: ROOT,
        stateDir,
        config,
        natsUrl: nats.url,
        ...(nats.tls ? { natsCaFile: nats.tls.caFile } : {}),
        mode,
        keys: ensureKeys(join(stateDir, 'keys'), demoKeySpecs()).files,
      }),
  });
}

/** Nx's command-line entry, from its package.json (its path moved between Nx versions). */
function nxBin(): string {
  const manifest = require.resolve('nx/package.json', { paths: [ROOT] });
  const { bin } = JSON.parse(readFileSync(manifest, 'utf8')) as {
    bin: string | Record<string, string>;
  };
  return join(dirname(manifest), typeof bin === 'string' ? bin : bin.nx);
}

function statusOrStop(stateDir: string, stop: boolean, out: (line: string) => void): number {
  const holder = readLock(join(stateDir, 'stack.lock'));
  if (!holder || !pidAlive(holder.pid)) {
    out('no tillbus stack is running in this checkout');
    return stop ? 0 : 1;
  }
  if (stop) {
    process.kill(holder.pid, 'SIGTERM');
    out(`asked the stack (orchestrator pid ${holder.pid}) to stop; it stops every process cleanly`);
    return 0;
  }
  out(`tillbus is running (orchestrator pid ${holder.pid}, since ${holder.startedAt})`);
  if (holder.summary) out(holder.summary);
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${error instanceof StackError ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
