#!/usr/bin/env node
/**
 * Assembles what a service's container image holds, from a built workspace. The Dockerfiles run this in their build
 * stage, and tools/deploy/image.test.ts runs the same file, so the test proves exactly what the image ships.
 *
 *   node tools/deploy/assemble.mjs <app> <outDir>
 *
 * <outDir>/manifest/package.json       the workspace's production dependencies (exact versions), nothing else
 * <outDir>/manifest/package-lock.json  the workspace lockfile pruned to those dependencies and what they need
 * <outDir>/app/dist/**                 the app's compiled code (apps/<app>/dist)
 * <outDir>/app/node_modules/@tillbus/  the workspace libs the app loads at run time: package.json and dist/ only
 *
 * The image installs the manifest with `npm ci --omit=dev`, then lays app/ over it. The manifest is the same for every
 * service. What the app loads is read from its compiled code (every require() of the app and of the libs it loads):
 * it picks the libs to copy, and a dev dependency used at run time, or an unbuilt lib, fails here instead of in
 * production.
 */
import { builtinModules } from 'node:module';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BUILTINS = new Set(builtinModules);
const REQUIRE = /\brequire\(\s*["']([^"'./][^"']*)["']\s*\)/g;

class AssembleError extends Error {}

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

function jsFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...jsFiles(path));
    else if (name.endsWith('.js')) out.push(path);
  }
  return out;
}

/** `@scope/name/deep/path` → `@scope/name`; `name/deep` → `name`. */
function packageName(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * Follows require() from the app's compiled code through the workspace libs it loads.
 * Returns the libs (name → folder) and the external packages (name → first file that needs it).
 */
export function runtimeImports(app, lock) {
  const appDist = join(ROOT, 'apps', app, 'dist');
  if (!existsSync(join(appDist, 'main.js'))) {
    throw new AssembleError(`apps/${app}/dist/main.js is missing: build first (npm run build)`);
  }
  const libs = new Map();
  const externals = new Map();
  const pending = [appDist];
  const seen = new Set();
  while (pending.length > 0) {
    const dir = pending.pop();
    if (seen.has(dir)) continue;
    seen.add(dir);
    for (const file of jsFiles(dir)) {
      for (const [, specifier] of readFileSync(file, 'utf8').matchAll(REQUIRE)) {
        if (specifier.startsWith('node:') || BUILTINS.has(specifier)) continue;
        const name = packageName(specifier);
        if (name.startsWith('@tillbus/')) {
          const link = lock.packages[`node_modules/${name}`];
          if (!link?.link)
            throw new AssembleError(
              `${name} (required by ${relative(ROOT, file)}) is not a workspace lib`,
            );
          const libDir = join(ROOT, link.resolved);
          if (!existsSync(join(libDir, 'dist'))) {
            throw new AssembleError(
              `${link.resolved}/dist is missing: build first (npm run build)`,
            );
          }
          libs.set(name, libDir);
          pending.push(join(libDir, 'dist'));
        } else if (!externals.has(name)) {
          externals.set(name, relative(ROOT, file));
        }
      }
    }
  }
  return { libs, externals };
}

/** Where npm would find `name` for the package installed at `from` (lockfile v3 paths). */
function resolveInLock(lock, from, name) {
  let base = from;
  for (;;) {
    const candidate = base ? `${base}/node_modules/${name}` : `node_modules/${name}`;
    if (lock.packages[candidate]) return candidate;
    if (!base) return undefined;
    const at = base.lastIndexOf('/node_modules/');
    base = at === -1 ? '' : base.slice(0, at);
  }
}

/** The lockfile entries reachable from `roots`, as npm ci would install them without dev dependencies. */
export function pruneLock(lock, roots) {
  const keep = new Map();
  const queue = roots.map((name) => ['', name, false]);
  while (queue.length > 0) {
    const [from, name, optional] = queue.shift();
    const path = resolveInLock(lock, from, name);
    if (!path) {
      if (optional) continue;
      throw new AssembleError(
        `${name} (needed by ${from || 'the app'}) is not in package-lock.json`,
      );
    }
    if (keep.has(path)) continue;
    const entry = lock.packages[path];
    if (entry.link)
      throw new AssembleError(`${path} is a workspace link; libs are copied, not installed`);
    keep.set(path, entry);
    for (const dep of Object.keys(entry.dependencies ?? {})) queue.push([path, dep, false]);
    for (const dep of Object.keys(entry.optionalDependencies ?? {})) queue.push([path, dep, true]);
    for (const [dep] of Object.entries(entry.peerDependencies ?? {})) {
      const optionalPeer = entry.peerDependenciesMeta?.[dep]?.optional === true;
      if (!optionalPeer) queue.push([path, dep, false]);
    }
  }
  const packages = {};
  for (const path of [...keep.keys()].sort()) {
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = keep.get(path);
    packages[path] = entry;
  }
  return packages;
}

export function assemble(app, outDir) {
  const rootPackage = readJson(join(ROOT, 'package.json'));
  const lock = readJson(join(ROOT, 'package-lock.json'));
  const { libs, externals } = runtimeImports(app, lock);

  const production = rootPackage.dependencies ?? {};
  for (const [name, file] of externals) {
    if (!production[name]) {
      throw new AssembleError(
        `${file} requires ${name}, which is not a production dependency in package.json`,
      );
    }
  }
  // Every service image installs the same set: the workspace's production dependencies. The install layer is then
  // byte-identical across the four images (built once, stored once per node), and no image carries a dev tool.
  const roots = Object.keys(production).sort();
  const dependencies = Object.fromEntries(
    roots.map((name) => [name, lock.packages[`node_modules/${name}`].version]),
  );
  const manifest = {
    name: 'tillbus-runtime',
    version: rootPackage.version,
    private: true,
    license: rootPackage.license,
    dependencies,
    // The same pins as the workspace (one Nest; Node-20-compatible transitive versions), or npm ci finds the
    // pruned lockfile out of step with the manifest.
    ...(rootPackage.overrides ? { overrides: rootPackage.overrides } : {}),
  };
  const prunedLock = {
    name: manifest.name,
    version: manifest.version,
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': {
        name: manifest.name,
        version: manifest.version,
        license: manifest.license,
        dependencies,
      },
      ...pruneLock(lock, roots),
    },
  };

  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(join(outDir, 'manifest'), { recursive: true });
  writeFileSync(join(outDir, 'manifest/package.json'), JSON.stringify(manifest, null, 2) + '\n');
  writeFileSync(
    join(outDir, 'manifest/package-lock.json'),
    JSON.stringify(prunedLock, null, 2) + '\n',
  );
  cpSync(join(ROOT, 'apps', app, 'dist'), join(outDir, 'app/dist'), { recursive: true });
  for (const [name, dir] of libs) {
    const target = join(outDir, 'app/node_modules', name);
    mkdirSync(target, { recursive: true });
    cpSync(join(dir, 'package.json'), join(target, 'package.json'));
    cpSync(join(dir, 'dist'), join(target, 'dist'), { recursive: true });
  }
  return {
    manifest,
    externals: [...externals.keys()].sort(),
    libs: [...libs.keys()].sort(),
    packages: Object.keys(prunedLock.packages).length - 1,
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [app, outDir] = process.argv.slice(2);
  if (!app || !outDir) {
    process.stderr.write('usage: node tools/deploy/assemble.mjs <app> <outDir>\n');
    process.exit(2);
  }
  try {
    const result = assemble(app, resolve(outDir));
    process.stdout.write(
      `${app}: loads ${result.externals.join(', ')}; libs ${result.libs.join(', ')}; image installs ${result.packages} packages\n`,
    );
  } catch (error) {
    if (!(error instanceof AssembleError)) throw error;
    process.stderr.write(`assemble ${app}: ${error.message}\n`);
    process.exit(1);
  }
}
