import { generateKeyPairSync } from 'node:crypto';
import { SecretResolver } from '@tillbus/config';
import { describe, expect, it } from 'vitest';
import { KeyMaterialError, loadKeyMaterial } from './key-material';

const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PRIVATE = pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const PUBLIC = pair.publicKey.export({ format: 'pem', type: 'spki' }).toString();

describe('loadKeyMaterial', () => {
  it('resolves both references into RSA keys', () => {
    const keys = loadKeyMaterial(
      { POS_PRIVATE_KEY_REF: 'env:PRIV', DSTORE_PUBLIC_KEY_REF: 'env:PUB' },
      new SecretResolver({ env: { PRIV: PRIVATE, PUB: PUBLIC } }),
    );
    expect(keys.posPrivateKey.type).toBe('private');
    expect(keys.dstorePublicKey.type).toBe('public');
  });

  it.each([
    [
      { PRIV: PRIVATE },
      /DSTORE_PUBLIC_KEY_REF: secret env:PUB: environment variable PUB is not set/,
    ],
    [{ PRIV: PUBLIC, PUB: PUBLIC }, /POS_PRIVATE_KEY_REF \(env:PRIV\): private key must be/],
    [{ PRIV: PRIVATE, PUB: 'bm90IGEga2V5' }, /DSTORE_PUBLIC_KEY_REF \(env:PUB\)/],
  ])('names the setting and the problem, never the key', (env, message) => {
    const load = () =>
      loadKeyMaterial(
        { POS_PRIVATE_KEY_REF: 'env:PRIV', DSTORE_PUBLIC_KEY_REF: 'env:PUB' },
        new SecretResolver({ env }),
      );
    expect(load).toThrow(KeyMaterialError);
    expect(load).toThrow(message);
    try {
      load();
    } catch (error) {
      expect((error as Error).message).not.toContain('BEGIN');
      expect((error as Error).message).not.toContain('bm90IGEga2V5');
    }
  });
});
