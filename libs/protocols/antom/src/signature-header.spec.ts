import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AntomProtocolError } from './errors';
import { decodeSignature, formatSignatureHeader, parseSignatureHeader } from './signature-header';

const base64 = fc
  .uint8Array({ minLength: 1, maxLength: 300 })
  .map((bytes) => Buffer.from(bytes).toString('base64'));

describe('formatSignatureHeader', () => {
  it('writes the Antom layout and URL-encodes + / =', () => {
    expect(
      formatSignatureHeader({ algorithm: 'RSA256', keyVersion: '1', signature: 'ab+/cd==' }),
    ).toBe('algorithm=RSA256,keyVersion=1,signature=ab%2B%2Fcd%3D%3D');
    expect(formatSignatureHeader({ algorithm: 'RSA256', signature: 'abcd' })).toBe(
      'algorithm=RSA256,signature=abcd',
    );
  });

  it.each([
    [{ algorithm: 'RSA 256', signature: 'abcd' }],
    [{ algorithm: 'RSA256', keyVersion: '1,2', signature: 'abcd' }],
    [{ algorithm: 'RSA256', signature: 'not base64!' }],
    [{ algorithm: 'RSA256', signature: '' }],
  ])('refuses to format %j', (header) => {
    expect(() => formatSignatureHeader(header)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});

describe('parseSignatureHeader', () => {
  it.each([
    [
      'algorithm=RSA256,keyVersion=1,signature=ab%2B%2Fcd%3D%3D',
      { algorithm: 'RSA256', keyVersion: '1', signature: 'ab+/cd==' },
    ],
    [
      'algorithm=RSA256, keyVersion=1, signature=ab%2B%2Fcd%3D%3D',
      { algorithm: 'RSA256', keyVersion: '1', signature: 'ab+/cd==' },
    ],
    ['signature=abcd,algorithm=RSA256', { algorithm: 'RSA256', signature: 'abcd' }],
    [
      'algorithm=RSA256,keyVersion=2,signature=ab+/cd==',
      { algorithm: 'RSA256', keyVersion: '2', signature: 'ab+/cd==' },
    ],
    [
      'algorithm=RSA256,keyVersion=1,signature=abcd,extra=x',
      { algorithm: 'RSA256', keyVersion: '1', signature: 'abcd' },
    ],
    ['algorithm=RSA512,signature=abcd', { algorithm: 'RSA512', signature: 'abcd' }],
  ])('reads %s', (text, expected) => {
    expect(parseSignatureHeader(text)).toEqual(expected);
  });

  it.each([
    '',
    'RSA256',
    'algorithm=RSA256',
    'keyVersion=1,signature=abcd',
    'algorithm=RSA256,signature=',
    'algorithm=RSA256,,signature=abcd',
    '=RSA256,signature=abcd',
    'algorithm=RSA256,signature=abcd,signature=efgh',
    'algorithm=RSA256,signature=%E0%A4%A',
    `algorithm=RSA256,signature=${'A'.repeat(5000)}`,
  ])('refuses %j as MALFORMED_SIGNATURE_HEADER', (text) => {
    expect(() => parseSignatureHeader(text)).toThrow(
      expect.objectContaining({ code: 'MALFORMED_SIGNATURE_HEADER' }),
    );
  });

  it('parse(format(x)) is x', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('RSA256', 'RSA2048', 'X'),
        fc.option(fc.stringMatching(/^[0-9]{1,3}$/), { nil: undefined }),
        base64,
        (algorithm, keyVersion, signature) => {
          const header =
            keyVersion === undefined
              ? { algorithm, signature }
              : { algorithm, keyVersion, signature };
          expect(parseSignatureHeader(formatSignatureHeader(header))).toEqual(header);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('only returns or throws AntomProtocolError on fuzzed headers', () => {
    const headerish = fc
      .tuple(
        fc.array(
          fc.tuple(fc.constantFrom('algorithm', 'keyVersion', 'signature', 'x', ''), fc.string()),
          { maxLength: 5 },
        ),
        fc.constantFrom(',', ', ', ' ,'),
      )
      .map(([pairs, separator]) => pairs.map(([k, v]) => `${k}=${v}`).join(separator));
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.anything(), headerish), (value) => {
        try {
          const parsed = parseSignatureHeader(value);
          return typeof parsed.algorithm === 'string' && typeof parsed.signature === 'string';
        } catch (error) {
          return error instanceof AntomProtocolError && error.code === 'MALFORMED_SIGNATURE_HEADER';
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('decodeSignature', () => {
  it('decodes strict Base64', () => {
    expect([...decodeSignature('AQID')]).toEqual([1, 2, 3]);
    expect([...decodeSignature('+/8=')]).toEqual([251, 255]);
  });

  it.each(['', 'AQI', 'AQ=D', 'AQID=', 'AQ-_', 'AQ ID', 'A===', '%2B'])('refuses %j', (text) => {
    expect(() => decodeSignature(text)).toThrow(
      expect.objectContaining({ code: 'MALFORMED_SIGNATURE' }),
    );
  });

  it('round-trips any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1 }), (bytes) => {
        expect([...decodeSignature(Buffer.from(bytes).toString('base64'))]).toEqual([...bytes]);
      }),
    );
  });
});
