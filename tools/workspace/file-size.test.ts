import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '../..');
const MAX_LINES = 600;
const SOURCE = /^(apps\/[^/]+|libs\/[^/]+|libs\/protocols\/[^/]+)\/src\/.+\.ts$/;

/**
 * Vendor code tables: one row per vendor code is easier to check against the vendor's document than any split.
 * None is that long today.
 */
const VENDOR_CODE_TABLES: string[] = [];

const EXCEPTIONS = new Set(VENDOR_CODE_TABLES);

function lineCount(path: string): number {
  const text = readFileSync(join(ROOT, path), 'utf8');
  const newlines = text.split('\n').length - 1;
  return text.endsWith('\n') || text === '' ? newlines : newlines + 1;
}

// Tracked files only: builds, coverage and a helper's scratch files do not count.
const sources = execFileSync('git', ['ls-files', '-z', '--', '*.ts'], {
  cwd: ROOT,
  encoding: 'utf8',
  maxBuffer: 64 * 1024 * 1024,
})
  .split('\0')
  .filter((path) => SOURCE.test(path) && existsSync(join(ROOT, path)))
  .map((path) => ({ path, lines: lineCount(path) }));

describe(`source files stay within ${MAX_LINES} lines`, () => {
  it('finds the sources of the apps and libs', () => {
    const roots = new Set(sources.map(({ path }) => path.split('/src/')[0]));
    expect(roots).toContain('apps/edc-command');
    expect(roots).toContain('libs/result-codes');
    expect(roots).toContain('libs/protocols/kicc');
  });

  it(`has no .ts file over ${MAX_LINES} lines under apps/*/src, libs/*/src or libs/protocols/*/src`, () => {
    const tooLong = sources
      .filter(({ path, lines }) => lines > MAX_LINES && !EXCEPTIONS.has(path))
      .map(({ path, lines }) => `${path}: ${lines} lines`);
    expect(tooLong, `over ${MAX_LINES} lines:\n${tooLong.join('\n')}\n`).toEqual([]);
  });

  it('lists only exceptions that are still needed', () => {
    const linesOf = new Map(sources.map(({ path, lines }) => [path, lines]));
    const stale = [...EXCEPTIONS]
      .filter((path) => (linesOf.get(path) ?? 0) <= MAX_LINES)
      .map((path) => `${path}: ${linesOf.get(path) ?? 'not tracked'}`);
    expect(stale, `exceptions no longer over ${MAX_LINES} lines:\n${stale.join('\n')}\n`).toEqual(
      [],
    );
  });
});
