import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from './cli';

const dirs: string[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
});

function captureStdout(): string[] {
  const lines: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  return lines;
}

describe('dstore CLI', () => {
  it('prints its options with --help', async () => {
    const out = captureStdout();
    await main(['--help']);
    expect(out.join('')).toContain('--answers <list>');
    expect(out.join('')).toContain('/_sim/lost-notification');
  });

  it('starts, generates both key pairs, prints the settings for the POS side, and stops cleanly', async () => {
    const keysDir = mkdtempSync(join(tmpdir(), 'dstore-cli-'));
    dirs.push(keysDir);
    const out = captureStdout();
    await main(
      ['--port', '0', '--keys-dir', keysDir, '--answers', 'U,DROP,F:PROCESS_FAIL', '--hold'],
      Promise.resolve(),
    );
    expect(readdirSync(keysDir).sort()).toEqual([
      'dstore-private.pem',
      'dstore-public.pem',
      'pos-private.pem',
      'pos-public.pem',
    ]);
    const text = out.join('');
    expect(text).toMatch(/DSTORE_PUBLIC_KEY_REF=file:.*dstore-public\.pem/);
    expect(text).toContain('dstore: closed');
  });

  it.each([
    [['--answers', 'MAYBE'], /unknown answer MAYBE/],
    [['--delay-ms', 'soon'], /--delay-ms must be a whole number/],
    [['--nope'], /Unknown option/],
  ])('refuses %j with a readable error', async (args, message) => {
    await expect(main(args, Promise.resolve())).rejects.toThrow(message);
  });
});
