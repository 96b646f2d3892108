import fc from 'fast-check';
import { isSubjectToken } from '@tillbus/messaging';
import { describe, expect, it } from 'vitest';
import { orderDigest, orderToken } from './order-key';

// nats.js's own rule for KV keys.
const KV_KEY = /^[-/=.\w]+$/;

describe('orderToken', () => {
  it.each(['pds_2109xxxxxxxxxxxx_2022xxxxxxxxxxxxxxx_1', 'ABC-123', 'x'.repeat(128)])(
    'keeps the plain id %s as it is',
    (id) => {
      expect(orderToken(id)).toBe(id);
    },
  );

  it.each([
    'with.dot',
    'with space',
    'wild*card',
    'a>b',
    'x'.repeat(129),
    '주문-1',
    '=looks-hashed',
  ])('hashes %s to = and 43 base64url characters', (id) => {
    expect(orderToken(id)).toMatch(/^=[A-Za-z0-9_-]{43}$/);
  });

  it('is always a valid subject token and KV key, and never maps two ids to one token', () => {
    const seen = new Map<string, string>();
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 255 }), (id) => {
        const token = orderToken(id);
        expect(isSubjectToken(token)).toBe(true);
        expect(KV_KEY.test(token) && !token.startsWith('.') && !token.endsWith('.')).toBe(true);
        expect(orderToken(id)).toBe(token);
        const previous = seen.get(token);
        if (previous !== undefined) expect(previous).toBe(id);
        seen.set(token, id);
      }),
      { numRuns: 2000 },
    );
  });

  it('digests are 24 hex characters and stable', () => {
    expect(orderDigest('a')).toMatch(/^[0-9a-f]{24}$/);
    expect(orderDigest('a')).toBe(orderDigest('a'));
    expect(orderDigest('a')).not.toBe(orderDigest('b'));
  });
});
