import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, type Service } from './manifests';

export interface AssembledImage {
  service: Service;
  /** The image's WORKDIR as a folder: dist/ and the libs it loads (node_modules/@tillbus/*). */
  dir: string;
}

export interface AssembledImages {
  images: AssembledImage[];
  /** The install every image shares: package.json, package-lock.json and node_modules from `npm ci`. */
  runtimeDir: string;
  dependencies: Record<string, string>;
}

/** Every app the stack needs, built (CI builds before it tests; locally: `npm run build`). */
export function requireBuilt(apps: string[]): void {
  const missing = apps.filter((app) => !existsSync(join(ROOT, 'apps', app, 'dist', 'main.js')));
  if (missing.length > 0) {
    throw new Error(
      `not built: ${missing.map((a) => `apps/${a}/dist/main.js`).join(', ')}. Run \`npm run build\` first ` +
        '(CI builds before it tests).',
    );
  }
}

function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (result.status !== 0) {
    throw new Error(
      `\`${command} ${args.join(' ')}\` failed in ${cwd}:\n${result.stdout}${result.stderr}`,
    );
  }
  return result.stdout;
}

/**
 * Builds the contents of each service's image as its Dockerfile does, under `workDir`:
 * 1. build stage: `node tools/deploy/assemble.mjs <service> /out` (the same script);
 * 2. deps stage: `npm ci --omit=dev --ignore-scripts` on the pruned manifest, which is the same for every service,
 *    so one install serves all four, as one image layer does. `--offline` from the npm cache, which the workspace's
 *    own install filled, so the test needs no network (see npmCi);
 * 3. runtime stage: the app laid over that install. Here the install sits one folder up (`workDir/node_modules`)
 *    and each app in `workDir/<service>`, which Node resolves exactly like the image's /app/node_modules.
 */
export async function assembleImages(
  services: readonly Service[],
  workDir: string,
): Promise<AssembledImages> {
  const outs = services.map((service) => {
    const out = join(workDir, '.out', service);
    run(process.execPath, [join(ROOT, 'tools/deploy/assemble.mjs'), service, out], ROOT);
    return out;
  });
  const lock = readFileSync(join(outs[0], 'manifest', 'package-lock.json'), 'utf8');
  for (const out of outs) {
    if (readFileSync(join(out, 'manifest', 'package-lock.json'), 'utf8') !== lock) {
      throw new Error(`${out}: every image must install the same pruned lockfile`);
    }
  }
  await npmCi(join(outs[0], 'manifest'), workDir);
  const images = services.map((service, i) => {
    const dir = join(workDir, service);
    cpSync(join(outs[i], 'app'), dir, { recursive: true });
    return { service, dir };
  });
  const manifest = JSON.parse(readFileSync(join(workDir, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  return { images, runtimeDir: workDir, dependencies: manifest.dependencies };
}

/**
 * `npm ci --omit=dev --ignore-scripts` of the manifest in `manifestDir`, installed into `dir`: `--offline` first (the
 * npm cache the workspace's install filled); only if the cache lacks a tarball, `--prefer-offline` (the registry for
 * what is missing).
 */
async function npmCi(manifestDir: string, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  cpSync(manifestDir, dir, { recursive: true });
  const base = ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'];
  const offline = await runNpm([...base, '--offline'], dir);
  if (offline.code === 0) return;
  const online = await runNpm([...base, '--prefer-offline'], dir);
  if (online.code === 0) return;
  throw new Error(
    `npm ci could not install the production dependencies (offline: exit ${offline.code}; with the registry: ` +
      `exit ${online.code}). Run \`npm ci\` in the workspace once (it fills the npm cache).\n${online.stderr}`,
  );
}

function runNpm(args: string[], cwd: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

/** Top-level package names in an installed node_modules (scoped ones as `@scope/name`). */
export function installedPackages(dir: string): string[] {
  const modules = join(dir, 'node_modules');
  return readdirSync(modules)
    .filter((name) => !name.startsWith('.'))
    .flatMap((name) =>
      name.startsWith('@')
        ? readdirSync(join(modules, name)).map((inner) => `${name}/${inner}`)
        : [name],
    )
    .sort();
}
