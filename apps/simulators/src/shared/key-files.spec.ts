import { createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureRsaKeyPairs } from './key-files';

const dir = mkdtempSync(join(tmpdir(), 'tillbus-sim-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const publicOf = (privatePem: string) =>
  createPublicKey(createPrivateKey(privatePem)).export({ type: 'spki', format: 'pem' });

describe('ensureRsaKeyPairs', () => {
  it('generates a matching RSA pair per owner, the private key readable by its owner only', () => {
    const keysDir = join(dir, 'new', 'nested');
    const keys = ensureRsaKeyPairs(keysDir, ['pos', 'terminal']);
    expect(readdirSync(keysDir).sort()).toEqual([
      'pos-private.pem',
      'pos-public.pem',
      'terminal-private.pem',
      'terminal-public.pem',
    ]);
    for (const owner of ['pos', 'terminal'] as const) {
      expect(keys[owner].privateKey).toContain('BEGIN PRIVATE KEY');
      expect(publicOf(keys[owner].privateKey)).toBe(keys[owner].publicKey);
      expect(createPrivateKey(keys[owner].privateKey).asymmetricKeyDetails?.modulusLength).toBe(
        2048,
      );
      expect(statSync(join(keysDir, `${owner}-private.pem`)).mode & 0o777).toBe(0o600);
    }
    expect(keys.pos.privateKey).not.toBe(keys.terminal.privateKey);
  });

  it('keeps existing pairs, and replaces a pair missing one of its files', () => {
    const keysDir = join(dir, 'again');
    const first = ensureRsaKeyPairs(keysDir, ['dstore', 'pos']);
    unlinkSync(join(keysDir, 'pos-public.pem'));
    const second = ensureRsaKeyPairs(keysDir, ['dstore', 'pos']);
    expect(second.dstore).toEqual(first.dstore);
    expect(second.pos.privateKey).not.toBe(first.pos.privateKey);
    expect(publicOf(second.pos.privateKey)).toBe(second.pos.publicKey);
  });
});
