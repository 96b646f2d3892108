import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTradeKey, tradeKeyFromPassword, tradeKeyMatches } from './trade-key';

describe('tradeKeyFromPassword', () => {
  // SHA-256 known-answer vectors (FIPS 180-2 for "abc" and ""; "password" is the widely published digest)
  it.each([
    ['password', '5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  ])('sha256(%j) = %s', (password, digest) => {
    expect(tradeKeyFromPassword(password)).toBe(digest);
  });

  it('is always 64 lower-case hex characters', () => {
    fc.assert(
      fc.property(fc.string(), (password) => {
        const key = tradeKeyFromPassword(password);
        expect(key).toMatch(/^[0-9a-f]{64}$/);
        expect(isTradeKey(key)).toBe(true);
      }),
    );
  });
});

describe('isTradeKey', () => {
  it.each([
    ['5E884898DA28047151D0E56F8DC6292773603D0D6AABBDD62A11EF721D1542D8', false],
    ['5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d', false],
    ['password', false],
    [42, false],
    ['5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8', true],
  ])('%s -> %s', (value, expected) => {
    expect(isTradeKey(value)).toBe(expected);
  });
});

describe('tradeKeyMatches', () => {
  it.each([
    ['5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8', 'password', true],
    ['5E884898DA28047151D0E56F8DC6292773603D0D6AABBDD62A11EF721D1542D8', 'password', false],
    ['5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8', 'Password', false],
    ['password', 'password', false],
    [undefined, 'password', false],
  ])('%s against %s -> %s', (received, password, expected) => {
    expect(tradeKeyMatches(received, password)).toBe(expected);
  });
});
