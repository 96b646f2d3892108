import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '../..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const all = { ...pkg.dependencies, ...pkg.devDependencies };

describe('workspace rules', () => {
  it('pins nx and every @nx/* to one exact 23.2.x version', () => {
    const nx = Object.entries(all).filter(([name]) => name === 'nx' || name.startsWith('@nx/'));
    expect(nx.length).toBeGreaterThan(1);
    const versions = new Set(nx.map(([, version]) => version));
    expect(versions.size).toBe(1);
    expect([...versions][0]).toMatch(/^23\.2\.\d+$/);
  });

  it('runs on Node >= 20.19 and keeps Nx Cloud off', () => {
    expect(pkg.engines.node).toBe('>=20.19');
    const nxJson = JSON.parse(readFileSync(join(ROOT, 'nx.json'), 'utf8')) as {
      neverConnectToCloud?: boolean;
    };
    expect(nxJson.neverConnectToCloud).toBe(true);
  });

  it('has exactly one copy of Nest 12 in the tree', () => {
    const tree = JSON.parse(
      execFileSync('npm', ['ls', '@nestjs/core', '@nestjs/common', '--all', '--json'], {
        cwd: ROOT,
        encoding: 'utf8',
      }),
    ) as object;
    const versions = new Map<string, Set<string>>();
    const walk = (node: { dependencies?: Record<string, { version?: string }> }) => {
      for (const [name, child] of Object.entries(node.dependencies ?? {})) {
        if (name.startsWith('@nestjs/') && child.version) {
          versions.set(name, (versions.get(name) ?? new Set()).add(child.version));
        }
        walk(child as never);
      }
    };
    walk(tree as never);
    for (const name of ['@nestjs/core', '@nestjs/common']) {
      expect([...(versions.get(name) ?? [])]).toHaveLength(1);
      expect([...(versions.get(name) ?? [])][0]).toMatch(/^12\./);
    }
  });

  it('keeps TypeScript strict everywhere', () => {
    const base = JSON.parse(readFileSync(join(ROOT, 'tsconfig.base.json'), 'utf8')) as {
      compilerOptions: { strict: boolean };
    };
    expect(base.compilerOptions.strict).toBe(true);
    const root = readFileSync(join(ROOT, 'tsconfig.json'), 'utf8');
    expect(root).not.toMatch(/"strict"\s*:\s*false/);
  });
});
