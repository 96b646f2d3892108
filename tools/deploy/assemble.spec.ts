import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pruneLock, type Lockfile } from './assemble.mjs';

const ROOT = join(__dirname, '../..');
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as Lockfile;
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

describe('pruneLock', () => {
  const production = pruneLock(lock, Object.keys(pkg.dependencies));

  it('keeps every production dependency and drops every dev-only one', () => {
    for (const name of Object.keys(pkg.dependencies)) {
      expect(production).toHaveProperty([`node_modules/${name}`]);
    }
    // Dev-only as npm sees it: a dev dependency that no production package needs too (ajv, say, is both).
    const devOnly = Object.keys(pkg.devDependencies).filter(
      (name) => lock.packages[`node_modules/${name}`]?.dev === true,
    );
    expect(devOnly).toEqual(expect.arrayContaining(['vitest', 'typescript', 'nx', '@swc/core']));
    for (const name of devOnly) expect(production).not.toHaveProperty([`node_modules/${name}`]);
  });

  it('marks nothing as dev, and needs no install scripts (the image runs npm ci --ignore-scripts)', () => {
    for (const [path, entry] of Object.entries(production)) {
      expect(entry.dev, path).toBeUndefined();
      expect(entry.devOptional, path).toBeUndefined();
      expect(entry.hasInstallScript, path).toBeUndefined();
      expect(entry.link, path).toBeUndefined();
    }
  });

  it('resolves nested versions the way npm does, and skips optional peers nobody asked for', () => {
    const synthetic: Lockfile = {
      packages: {
        '': {},
        'node_modules/a': { version: '1.0.0', dependencies: { b: '^1' } },
        'node_modules/a/node_modules/b': { version: '1.2.0', dependencies: { c: '*' } },
        'node_modules/b': { version: '2.0.0' },
        'node_modules/c': {
          version: '3.0.0',
          dev: true,
          peerDependencies: { d: '*', e: '*' },
          peerDependenciesMeta: { e: { optional: true } },
          optionalDependencies: { 'c-linux': '*', 'c-darwin': '*' },
        },
        'node_modules/c-linux': { version: '3.0.0', optional: true },
        'node_modules/d': { version: '4.0.0' },
        'node_modules/e': { version: '5.0.0' },
      },
    };
    const kept = pruneLock(synthetic, ['a']);
    expect(Object.keys(kept)).toEqual([
      'node_modules/a',
      'node_modules/a/node_modules/b',
      'node_modules/c',
      'node_modules/c-linux',
      'node_modules/d',
    ]);
    expect(kept['node_modules/c'].dev).toBeUndefined();
    expect(() => pruneLock(synthetic, ['missing'])).toThrow(
      /missing .* is not in package-lock.json/,
    );
  });
});
