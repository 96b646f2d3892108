import { randomBytes } from 'node:crypto';
import { SecretResolver } from '@tillbus/config';
import { describe, expect, it } from 'vitest';
import { KeyBox, KeyBoxError, parseKeyEncryptionKey } from './key-box';

const binding = { deviceId: '01300001', mchId: 'ACCOUNT001', signedAt: 1_700_000_000_000 };
const KEY = '2406cbf0a1b2c3d4e5f60718293a4b5c';

describe('KeyBox (AES-256-GCM at rest)', () => {
  const box = new KeyBox(randomBytes(32));

  it('seals and opens a key; the sealed form does not contain it', () => {
    const sealed = box.seal(KEY, binding);
    expect(sealed).toMatchObject({ alg: 'A256GCM', kid: box.kid, signedAt: binding.signedAt });
    expect(JSON.stringify(sealed)).not.toContain(KEY);
    expect(box.open(sealed, binding)).toBe(KEY);
    expect(box.seal(KEY, binding).ct).not.toBe(sealed.ct); // a fresh nonce each time
  });

  it.each([
    [
      'the ciphertext changed',
      (s: ReturnType<KeyBox['seal']>) => ({ ...s, ct: Buffer.from('x' + s.ct).toString('base64') }),
    ],
    [
      'the tag changed',
      (s: ReturnType<KeyBox['seal']>) => ({ ...s, tag: randomBytes(16).toString('base64') }),
    ],
    [
      'moved to another sign-on',
      (s: ReturnType<KeyBox['seal']>) => ({ ...s, signedAt: s.signedAt + 1 }),
    ],
  ])('refuses a sealed key when %s', (_name, tamper) => {
    expect(() => box.open(tamper(box.seal(KEY, binding)), binding)).toThrow(KeyBoxError);
  });

  it('refuses a key moved to another reader or merchant', () => {
    const sealed = box.seal(KEY, binding);
    expect(() => box.open(sealed, { ...binding, deviceId: '01300002' })).toThrow(KeyBoxError);
    expect(() => box.open(sealed, { ...binding, mchId: 'OTHER' })).toThrow(KeyBoxError);
  });

  it('opens records of the previous key during a rotation, seals with the new one', () => {
    const old = randomBytes(32);
    const sealed = new KeyBox(old).seal(KEY, binding);
    const rotated = new KeyBox(randomBytes(32), old);
    expect(rotated.open(sealed, binding)).toBe(KEY);
    expect(rotated.seal(KEY, binding).kid).toBe(rotated.kid);
    expect(() => new KeyBox(randomBytes(32)).open(sealed, binding)).toThrow(/not configured/);
  });

  it('reads the key from a secret as hex or Base64, and refuses anything else without echoing it', () => {
    const raw = randomBytes(32);
    const env = { HEX: raw.toString('hex'), B64: raw.toString('base64'), SHORT: 'S3cret-short' };
    const secrets = new SecretResolver({ env });
    expect(KeyBox.fromSecrets(secrets, 'env:HEX').kid).toBe(
      KeyBox.fromSecrets(secrets, 'env:B64').kid,
    );
    expect(() => KeyBox.fromSecrets(secrets, 'env:SHORT')).toThrow(
      /env:SHORT must hold a 32-byte key/,
    );
    expect(() => parseKeyEncryptionKey('S3cret-short', 'ref')).not.toThrow(/S3cret/);
    expect(() => parseKeyEncryptionKey('S3cret-short', 'ref')).toThrow(KeyBoxError);
  });

  it('fingerprints configuration with a keyed digest', () => {
    const a = box.fingerprint(['ACCOUNT001', 'tradekey']);
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(box.fingerprint(['ACCOUNT001', 'tradekey'])).toBe(a);
    expect(box.fingerprint(['ACCOUNT001', 'other'])).not.toBe(a);
    expect(new KeyBox(randomBytes(32)).fingerprint(['ACCOUNT001', 'tradekey'])).not.toBe(a);
  });
});
