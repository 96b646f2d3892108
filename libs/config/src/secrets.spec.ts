import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isSecretRef, SecretError, SecretResolver } from './secrets';

const dir = mkdtempSync(join(tmpdir(), 'tillbus-secrets-'));
writeFileSync(join(dir, 'dstore-key'), 'from-mounted-file\n');
writeFileSync(join(dir, 'empty'), '\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const resolver = new SecretResolver({ env: { API_KEY: 'from-env', BLANK: '' }, secretsDir: dir });

describe('SecretResolver', () => {
  it.each([
    ['env:API_KEY', 'from-env'],
    [`file:${join(dir, 'dstore-key')}`, 'from-mounted-file'],
    ['dstore-key', 'from-mounted-file'],
  ])('resolves %s', (ref, value) => {
    expect(resolver.resolve(ref)).toBe(value);
  });

  it.each([
    ['env:MISSING', /MISSING is not set/],
    ['env:BLANK', /BLANK is not set/],
    ['absent-file', /cannot read .*absent-file \(ENOENT\)/],
    ['empty', /is empty/],
    ['env:bad name', /not a secret reference/],
    ['../etc/passwd', /not a secret reference/],
    ['file:relative/path', /not a secret reference/],
    ['', /not a secret reference/],
  ])('refuses %j with a message naming the reference', (ref, message) => {
    expect(() => resolver.resolve(ref)).toThrow(SecretError);
    expect(() => resolver.resolve(ref)).toThrow(message);
  });

  it('never puts a secret value in an error', () => {
    const r = new SecretResolver({ env: { K: 'hunter2' }, secretsDir: dir });
    expect(r.tryResolve('env:K')).toEqual({ ok: true, value: 'hunter2' });
    const failed = r.tryResolve('file:/nonexistent/hunter2-dir/x');
    expect(failed.ok).toBe(false);
  });

  it('tells references from values', () => {
    expect(isSecretRef('env:A')).toBe(true);
    expect(isSecretRef('-----BEGIN PRIVATE KEY-----')).toBe(false);
  });
});
