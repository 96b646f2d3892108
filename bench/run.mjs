// Runs each benchmark (or the ones named on the command line) as its own process, compiled on the fly by SWC.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.includes(w)));
let failed = 0;
for (const file of benches) {
  console.log(`\n=== ${file}`);
  const run = spawnSync(
    process.execPath,
    ['--conditions=tillbus-source', '-r', '@swc-node/register', join(here, file)],
    {
      stdio: 'inherit',
      // The services a benchmark starts declare their own streams (production provisions them beforehand).
      env: {
        ...process.env,
        NATS_PROVISIONING: 'apply',
        TS_NODE_PROJECT: join(here, '..', 'tsconfig.json'),
      },
    },
  );
  if (run.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
