import NexoCrypto from '@adyen/api-library/lib/src/security/nexoCrypto';
import NexoDerivedKeyGenerator from '@adyen/api-library/lib/src/security/nexoDerivedKeyGenerator';
import { afterEach, describe, expect, it } from 'vitest';
import { buildDiagnosisRequest, serializeTerminalApiRequest } from './diagnosis-request';
import { disableNexoKeyCache, enableNexoKeyCache, nexoKeyCacheStats } from './nexo-key-cache';

const key = { AdyenCryptoVersion: 1, KeyIdentifier: 'keyId', KeyVersion: 1, Passphrase: 'p4ss' };

describe('enableNexoKeyCache', () => {
  afterEach(() => disableNexoKeyCache());

  it('derives once per passphrase and returns the same key material as the library', () => {
    const uncached = NexoDerivedKeyGenerator.deriveKeyMaterial('p4ss');
    enableNexoKeyCache();
    const first = NexoDerivedKeyGenerator.deriveKeyMaterial('p4ss');
    const second = NexoDerivedKeyGenerator.deriveKeyMaterial('p4ss');
    expect(Buffer.compare(first.cipherKey, uncached.cipherKey)).toBe(0);
    expect(Buffer.compare(first.hmacKey, uncached.hmacKey)).toBe(0);
    expect(Buffer.compare(first.iv, uncached.iv)).toBe(0);
    expect(second).toBe(first);
    expect(nexoKeyCacheStats()).toMatchObject({ enabled: true, size: 1, hits: 1, misses: 1 });
  });

  it('keeps the library encryption interoperable: encrypted with the cache, decrypted without it', () => {
    const request = buildDiagnosisRequest({
      saleId: 'pos',
      poiId: 'V400m-123',
      serviceId: 'A1',
      hostDiagnosis: false,
    });
    const json = serializeTerminalApiRequest(request);
    enableNexoKeyCache();
    const secured = NexoCrypto.encrypt(request.SaleToPOIRequest.MessageHeader, json, key);
    expect(new NexoCrypto().decrypt(secured, key)).toBe(json);
    disableNexoKeyCache();
    expect(new NexoCrypto().decrypt(secured, key)).toBe(json);
    expect(() => new NexoCrypto().decrypt(secured, { ...key, Passphrase: 'wrong' })).toThrow();
  });

  it('forgets the least recently used passphrase beyond maxEntries', () => {
    enableNexoKeyCache({ maxEntries: 2 });
    for (const pass of ['a', 'b', 'a', 'c']) NexoDerivedKeyGenerator.deriveKeyMaterial(pass);
    expect(nexoKeyCacheStats()).toMatchObject({ size: 2, hits: 1, misses: 3 });
    NexoDerivedKeyGenerator.deriveKeyMaterial('a');
    expect(nexoKeyCacheStats().hits).toBe(2);
    NexoDerivedKeyGenerator.deriveKeyMaterial('b');
    expect(nexoKeyCacheStats().misses).toBe(4);
  });

  it('is idempotent and can be switched off again', () => {
    enableNexoKeyCache();
    enableNexoKeyCache();
    NexoDerivedKeyGenerator.deriveKeyMaterial('x');
    disableNexoKeyCache();
    expect(nexoKeyCacheStats()).toEqual({ enabled: false, size: 0, hits: 0, misses: 0 });
  });
});
