import { createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureKeys } from './keys';
import { demoKeySpecs } from './plan';

const dir = mkdtempSync(join(tmpdir(), 'tillbus-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('demo keys', () => {
  it('are generated once, private files readable by the owner only, and reused after', () => {
    const first = ensureKeys(join(dir, 'k'), demoKeySpecs());
    expect(first.created.sort()).toEqual([
      'easycard-key-encryption',
      'intella',
      'intella-iv',
      'intella-trade-password',
    ]);
    const rsa = first.files.intella;
    expect(createPrivateKey(readFileSync(rsa.file)).asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(createPublicKey(readFileSync(rsa.publicFile!)).asymmetricKeyType).toBe('rsa');
    expect(statSync(rsa.file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'k')).mode & 0o777).toBe(0o700);
    expect(
      Buffer.from(
        readFileSync(first.files['easycard-key-encryption'].file, 'utf8').trim(),
        'base64',
      ),
    ).toHaveLength(32);
    expect(readFileSync(first.files['intella-iv'].file, 'utf8').trim()).toMatch(
      /^[A-Za-z0-9]{16}$/,
    );

    const before = readFileSync(rsa.file, 'utf8');
    const again = ensureKeys(join(dir, 'k'), demoKeySpecs());
    expect(again.created).toEqual([]);
    expect(readFileSync(rsa.file, 'utf8')).toBe(before);
  });
});
