// `npm start` and `npm test` on a fresh clone: install the locked dependencies when they are missing or older than
// the lockfile, and (with --build) build every project, which the process-level tests run. Nx caches the build, so
// a second run costs seconds.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write(
      `\n${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal})\n`,
    );
    process.exit(result.status ?? 1);
  }
}

const installed = join(root, 'node_modules', '.package-lock.json');
const lockfile = join(root, 'package-lock.json');
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lockfile).mtimeMs) {
  // `npm ci`: exactly the committed lockfile, never a rewritten one (a fresh checkout stays clean).
  process.stdout.write('installing the locked dependencies (npm ci)\n');
  run(npm, ['ci', '--no-audit', '--no-fund']);
}
if (process.argv.includes('--build')) {
  run(process.execPath, [
    join(root, 'node_modules', 'nx', 'dist', 'bin', 'nx.js'),
    'run-many',
    '-t',
    'build',
    '--output-style=static',
  ]);
}
