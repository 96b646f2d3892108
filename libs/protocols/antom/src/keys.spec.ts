import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AntomProtocolError } from './errors';
import { loadPrivateKey, loadPublicKey, signatureLengthOf } from './keys';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pkcs8Pem = rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const pkcs8Der = rsa.privateKey.export({ format: 'der', type: 'pkcs8' });
const spkiPem = rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString();
const spkiDer = rsa.publicKey.export({ format: 'der', type: 'spki' });

describe('loadPrivateKey / loadPublicKey', () => {
  it.each([
    ['PEM', pkcs8Pem],
    ['bare Base64 DER', pkcs8Der.toString('base64')],
    ['Base64 DER wrapped in lines', pkcs8Der.toString('base64').replace(/(.{64})/g, '$1\n')],
    ['DER bytes', new Uint8Array(pkcs8Der)],
    ['KeyObject', rsa.privateKey],
  ])('loads a private key from %s', (_form, input) => {
    const key = loadPrivateKey(input);
    expect(key.type).toBe('private');
    expect(signatureLengthOf(key)).toBe(256);
  });

  it.each([
    ['PEM', spkiPem],
    ['bare Base64 DER', spkiDer.toString('base64')],
    ['DER bytes', new Uint8Array(spkiDer)],
    ['KeyObject', rsa.publicKey],
    ['private KeyObject (public half)', rsa.privateKey],
  ])('loads a public key from %s', (_form, input) => {
    const key = loadPublicKey(input);
    expect(key.type).toBe('public');
    expect(key.export({ format: 'der', type: 'spki' }).equals(spkiDer)).toBe(true);
  });

  it.each([
    ['a public key as private', () => loadPrivateKey(spkiPem)],
    ['a public DER as private', () => loadPrivateKey(spkiDer.toString('base64'))],
    ['a private DER as public', () => loadPublicKey(pkcs8Der.toString('base64'))],
    ['an EC key', () => loadPrivateKey(ec.privateKey)],
    ['an EC public key', () => loadPublicKey(ec.publicKey)],
    ['garbage', () => loadPublicKey('hello world!')],
    [
      'broken PEM',
      () => loadPublicKey('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----'),
    ],
  ])('refuses %s with INVALID_KEY', (_case, load) => {
    expect(load).toThrow(expect.objectContaining({ code: 'INVALID_KEY' }));
  });

  it('never echoes key material in its message', () => {
    const almost = pkcs8Der.toString('base64').slice(0, 200);
    try {
      loadPrivateKey(almost);
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).not.toContain(almost.slice(0, 16));
    }
  });

  it('only returns or throws AntomProtocolError for any input', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.uint8Array(), fc.anything(), fc.base64String()),
        (input) => {
          for (const load of [loadPrivateKey, loadPublicKey]) {
            try {
              load(input as string);
            } catch (error) {
              if (!(error instanceof AntomProtocolError && error.code === 'INVALID_KEY'))
                return false;
            }
          }
          return true;
        },
      ),
      { numRuns: 500 },
    );
  });
});
