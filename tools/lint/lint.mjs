// `npm run lint [paths...]`: ESLint with the module boundaries really enforced.
// @nx/enforce-module-boundaries reads the project graph from Nx's cache and, when there is none (a clean clone, CI),
// only warns "The rule will be skipped" and lets every forbidden import through. So the graph is computed here
// first, every time, and a run in which the rule still skipped fails.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
process.env.NX_DAEMON = 'false';
process.env.NX_NO_CLOUD = 'true';
process.chdir(root);

const require = createRequire(join(root, 'package.json'));
const { createProjectGraphAsync } = require('@nx/devkit');
await createProjectGraphAsync({ exitOnError: true });

const paths = process.argv.slice(2);
const eslint = spawnSync(
  process.execPath,
  [
    join(dirname(require.resolve('eslint/package.json')), 'bin', 'eslint.js'),
    '--max-warnings=0',
    ...(paths.length ? paths : ['.']),
  ],
  { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
);
process.stdout.write(eslint.stdout);
process.stderr.write(eslint.stderr);
if (/No cached ProjectGraph is available/.test(eslint.stdout + eslint.stderr)) {
  process.stderr.write(
    'lint: @nx/enforce-module-boundaries found no project graph, so no boundary was checked\n',
  );
  process.exit(1);
}
process.exit(eslint.status ?? 1);
