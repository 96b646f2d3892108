import { describe, expect, it } from 'vitest';
import { orderDigest } from './order-key';

describe('orderDigest', () => {
  it('digests are 24 hex characters and stable', () => {
    expect(orderDigest('a')).toMatch(/^[0-9a-f]{24}$/);
    expect(orderDigest('a')).toBe(orderDigest('a'));
    expect(orderDigest('a')).not.toBe(orderDigest('b'));
  });
});
