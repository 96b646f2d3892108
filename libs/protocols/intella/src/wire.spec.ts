import {
  constants,
  createCipheriv,
  createDecipheriv,
  generateKeyPairSync,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IntellaProtocolError, type IntellaProtocolErrorCode } from './errors';
import {
  decryptRequest,
  decryptResponse,
  encryptRequest,
  encryptResponse,
  loadIntellaPrivateKey,
  loadIntellaPublicKey,
  parseWireRequest,
  parseWireResponse,
} from './wire';

const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
const IV = 'A1b2C3d4E5f6G7h8';
const OTHER_IV = 'B1b2C3d4E5f6G7h8'; // differs in the first byte, so the first plaintext block changes from '{'

const seedRequest = {
  Header: {
    Method: '31800',
    ServiceType: 'SignOn',
    MchId: 'ACCOUNT001',
    TradeKey: '5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8',
    CreateTime: '20170830192040',
  },
  Data: '{"DeviceId":"12341234","Retry":"0"}',
};
const seedResponse = {
  Header: {
    StatusCode: '0000',
    StatusDesc: 'STATUS_SUCCESS',
    Method: '31800',
    ServiceType: 'SignOn',
    MchId: 'S2PT00391',
    ResponseTime: '20170830192043',
  },
  Data: { DeviceID: '0220131329', ErrorCode: '000000', Retry: '0' },
};

function thrownCode(
  action: () => unknown,
): IntellaProtocolErrorCode | 'NO_ERROR' | 'FOREIGN_ERROR' {
  try {
    action();
    return 'NO_ERROR';
  } catch (error) {
    return error instanceof IntellaProtocolError ? error.code : 'FOREIGN_ERROR';
  }
}

/** Unwraps PKCS#1 v1.5 with raw RSA, written independently of the lib (Node 20 refuses RSA_PKCS1_PADDING here). */
function rawUnwrap(key: KeyObject, wrapped: Buffer): Buffer {
  const block = privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, wrapped);
  expect(block[0]).toBe(0);
  expect(block[1]).toBe(2);
  return block.subarray(block.indexOf(0, 2) + 1);
}

function aesCbc(mode: 'encrypt' | 'decrypt', key: Buffer, iv: string, data: Buffer): Buffer {
  const cipher =
    mode === 'encrypt'
      ? createCipheriv('aes-128-cbc', key, Buffer.from(iv, 'utf8'))
      : createDecipheriv('aes-128-cbc', key, Buffer.from(iv, 'utf8'));
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

describe('client -> server -> client round trip', () => {
  it('carries the seed request and response both ways', () => {
    const { wire, aesKey } = encryptRequest(seedRequest, { intellaPublicKey: publicKey, iv: IV });
    const opened = decryptRequest(wire, { privateKey, iv: IV });
    expect(opened.plain).toEqual(seedRequest);
    expect(opened.aesKey.equals(aesKey)).toBe(true);
    const answer = encryptResponse(seedResponse, opened.aesKey, IV);
    expect(decryptResponse(answer, aesKey, IV)).toEqual(seedResponse);
  });

  it('turns a literal \\u003d in Response back into = (as public clients do)', () => {
    // intella's published SignOn sample answer (seeds/004: the seed's API Example, Response), sealed as intella would.
    const { aesKey } = encryptRequest(seedRequest, { intellaPublicKey: publicKey, iv: IV });
    const sealed = encryptResponse(seedResponse, aesKey, IV);
    expect(sealed.Response).toMatch(/=$/);
    const escaped = sealed.Response.replace(/=/g, '\\u003d');
    // JSON text whose string holds the six characters \u003d (the escape itself escaped), and the parsed form
    const text = JSON.stringify({ Response: escaped });
    expect(text).toContain('\\\\u003d');
    expect(decryptResponse(text, aesKey, IV)).toEqual(seedResponse);
    expect(decryptResponse({ Response: escaped.replace(/u003d/g, 'U003D') }, aesKey, IV)).toEqual(
      seedResponse,
    );
  });

  it('accepts the wire body as JSON text and as bytes', () => {
    const { wire, aesKey } = encryptRequest(JSON.stringify(seedRequest), {
      intellaPublicKey: publicKey,
      iv: IV,
    });
    expect(decryptRequest(JSON.stringify(wire), { privateKey, iv: IV }).plain).toEqual(seedRequest);
    const answer = encryptResponse(JSON.stringify(seedResponse), aesKey, IV);
    expect(decryptResponse(Buffer.from(JSON.stringify(answer)), aesKey, IV)).toEqual(seedResponse);
  });

  it('uses a fresh 16-byte AES key for every request', () => {
    const first = encryptRequest(seedRequest, { intellaPublicKey: publicKey, iv: IV });
    const second = encryptRequest(seedRequest, { intellaPublicKey: publicKey, iv: IV });
    expect(first.aesKey).toHaveLength(16);
    expect(second.aesKey).toHaveLength(16);
    expect(first.aesKey.equals(second.aesKey)).toBe(false);
    expect(first.wire.Request).not.toBe(second.wire.Request);
  });

  it('reads keys as PEM, Base64 DER and DER bytes', () => {
    const publicPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const publicDer = publicKey.export({ type: 'spki', format: 'der' });
    const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const privateDer = privateKey.export({ type: 'pkcs8', format: 'der' });
    for (const intellaPublicKey of [publicPem, publicDer.toString('base64'), publicDer]) {
      for (const serverKey of [privatePem, privateDer.toString('base64'), privateDer]) {
        const { wire } = encryptRequest(seedRequest, { intellaPublicKey, iv: IV });
        expect(decryptRequest(wire, { privateKey: serverKey, iv: IV }).plain).toEqual(seedRequest);
      }
    }
  });

  it('round-trips any JSON object', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (plain) => {
        const { wire, aesKey } = encryptRequest(plain, { intellaPublicKey: publicKey, iv: IV });
        const opened = decryptRequest(wire, { privateKey, iv: IV });
        expect(opened.plain).toEqual(JSON.parse(JSON.stringify(plain)));
        const answer = encryptResponse(plain, opened.aesKey, IV);
        expect(decryptResponse(answer, aesKey, IV)).toEqual(JSON.parse(JSON.stringify(plain)));
      }),
      { numRuns: 40 },
    );
  });
});

describe('independent check with raw node:crypto (protocols.md §6)', () => {
  it('Request is AES-128-CBC/PKCS7 under the IV, ApiKey is RSA-PKCS1v1.5 of the Base64 text of the AES key', () => {
    const { wire, aesKey } = encryptRequest(seedRequest, { intellaPublicKey: publicKey, iv: IV });
    const keyText = rawUnwrap(privateKey, Buffer.from(wire.ApiKey, 'base64')).toString('utf8');
    expect(keyText).toBe(aesKey.toString('base64'));
    expect(keyText).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    const plain = aesCbc(
      'decrypt',
      Buffer.from(keyText, 'base64'),
      IV,
      Buffer.from(wire.Request, 'base64'),
    );
    expect(plain.toString('utf8')).toBe(JSON.stringify(seedRequest));
  });

  it('the server side opens a request sealed by hand', () => {
    const aesKey = randomBytes(16);
    const Request = aesCbc(
      'encrypt',
      aesKey,
      IV,
      Buffer.from(JSON.stringify(seedRequest)),
    ).toString('base64');
    const ApiKey = publicEncrypt(
      { key: publicKey, padding: constants.RSA_PKCS1_PADDING },
      Buffer.from(aesKey.toString('base64')),
    ).toString('base64');
    const opened = decryptRequest({ Request, ApiKey }, { privateKey, iv: IV });
    expect(opened.plain).toEqual(seedRequest);
    expect(opened.aesKey.equals(aesKey)).toBe(true);
  });

  it('Response is AES-128-CBC/PKCS7 with the request key and IV', () => {
    const aesKey = randomBytes(16);
    const sealed = encryptResponse(seedResponse, aesKey, IV);
    expect(
      aesCbc('decrypt', aesKey, IV, Buffer.from(sealed.Response, 'base64')).toString('utf8'),
    ).toBe(JSON.stringify(seedResponse));
    const byHand = aesCbc(
      'encrypt',
      aesKey,
      IV,
      Buffer.from(JSON.stringify(seedResponse)),
    ).toString('base64');
    expect(decryptResponse({ Response: byHand }, aesKey, IV)).toEqual(seedResponse);
  });
});

describe('typed errors', () => {
  const sealed = encryptRequest(seedRequest, { intellaPublicKey: publicKey, iv: IV });

  it('a request sealed for another RSA key is DECRYPTION_FAILED', () => {
    const wrong = encryptRequest(seedRequest, { intellaPublicKey: other.publicKey, iv: IV });
    expect(thrownCode(() => decryptRequest(wrong.wire, { privateKey, iv: IV }))).toBe(
      'DECRYPTION_FAILED',
    );
    expect(
      thrownCode(() => decryptRequest(sealed.wire, { privateKey: other.privateKey, iv: IV })),
    ).toBe('DECRYPTION_FAILED');
  });

  it('a wrong IV garbles the first block: MALFORMED_JSON on both sides', () => {
    expect(thrownCode(() => decryptRequest(sealed.wire, { privateKey, iv: OTHER_IV }))).toBe(
      'MALFORMED_JSON',
    );
    const answer = encryptResponse(seedResponse, sealed.aesKey, IV);
    expect(thrownCode(() => decryptResponse(answer, sealed.aesKey, OTHER_IV))).toBe(
      'MALFORMED_JSON',
    );
  });

  it('a wrong AES key on the response is DECRYPTION_FAILED', () => {
    const answer = encryptResponse(seedResponse, sealed.aesKey, IV);
    const wrongKey = Buffer.from(sealed.aesKey.map((byte) => byte ^ 0x5a));
    expect(thrownCode(() => decryptResponse(answer, wrongKey, IV))).toBe('DECRYPTION_FAILED');
  });

  it('a corrupted body (padding broken) is DECRYPTION_FAILED', () => {
    const body = Buffer.from(sealed.wire.Request, 'base64');
    // flipping the last byte of the second-to-last block flips the last padding byte to a value above 16
    body[body.length - 17] ^= 0xff;
    const corrupted = { ...sealed.wire, Request: body.toString('base64') };
    expect(thrownCode(() => decryptRequest(corrupted, { privateKey, iv: IV }))).toBe(
      'DECRYPTION_FAILED',
    );
    const answer = Buffer.from(encryptResponse(seedResponse, sealed.aesKey, IV).Response, 'base64');
    answer[answer.length - 17] ^= 0xff;
    expect(
      thrownCode(() => decryptResponse({ Response: answer.toString('base64') }, sealed.aesKey, IV)),
    ).toBe('DECRYPTION_FAILED');
  });

  it('any corruption of the body is a typed decryption or JSON error', () => {
    const body = Buffer.from(sealed.wire.Request, 'base64');
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: body.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        (index, mask) => {
          const copy = Buffer.from(body);
          copy[index] ^= mask;
          const code = thrownCode(() =>
            decryptRequest(
              { ...sealed.wire, Request: copy.toString('base64') },
              { privateKey, iv: IV },
            ),
          );
          // a flip inside a JSON string's bytes can still decode; everything else must be a typed error
          expect(['DECRYPTION_FAILED', 'MALFORMED_JSON', 'NO_ERROR']).toContain(code);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a body that is not a whole number of blocks is DECRYPTION_FAILED', () => {
    const truncated = Buffer.from(sealed.wire.Request, 'base64').subarray(0, 20).toString('base64');
    expect(
      thrownCode(() =>
        decryptRequest({ ...sealed.wire, Request: truncated }, { privateKey, iv: IV }),
      ),
    ).toBe('DECRYPTION_FAILED');
  });

  it('an ApiKey of the wrong size is DECRYPTION_FAILED', () => {
    const short = Buffer.from(sealed.wire.ApiKey, 'base64').subarray(1).toString('base64');
    expect(
      thrownCode(() => decryptRequest({ ...sealed.wire, ApiKey: short }, { privateKey, iv: IV })),
    ).toBe('DECRYPTION_FAILED');
  });

  it('an ApiKey that wraps something other than a 16-byte key is DECRYPTION_FAILED', () => {
    for (const content of [
      Buffer.from('not base64!'),
      Buffer.from(randomBytes(24).toString('base64')),
    ]) {
      const ApiKey = publicEncrypt(
        { key: publicKey, padding: constants.RSA_PKCS1_PADDING },
        content,
      ).toString('base64');
      expect(
        thrownCode(() => decryptRequest({ ...sealed.wire, ApiKey }, { privateKey, iv: IV })),
      ).toBe('DECRYPTION_FAILED');
    }
  });

  it.each([
    ['too short', 'short'],
    ['too long', 'A1b2C3d4E5f6G7h8X'],
    ['16 characters but 17 bytes', 'A1b2C3d4E5f6G7hé'],
  ])('an IV that is %s is BAD_IV', (_label, iv) => {
    expect(thrownCode(() => encryptRequest(seedRequest, { intellaPublicKey: publicKey, iv }))).toBe(
      'BAD_IV',
    );
    expect(thrownCode(() => decryptRequest(sealed.wire, { privateKey, iv }))).toBe('BAD_IV');
    expect(thrownCode(() => encryptResponse(seedResponse, sealed.aesKey, iv))).toBe('BAD_IV');
    expect(thrownCode(() => decryptResponse({ Response: 'AAAA' }, sealed.aesKey, iv))).toBe(
      'BAD_IV',
    );
  });

  it('unusable keys are BAD_KEY', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    expect(thrownCode(() => loadIntellaPublicKey('not a key'))).toBe('BAD_KEY');
    expect(
      thrownCode(() =>
        loadIntellaPublicKey('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----'),
      ),
    ).toBe('BAD_KEY');
    expect(thrownCode(() => loadIntellaPublicKey(ec.publicKey))).toBe('BAD_KEY');
    expect(thrownCode(() => loadIntellaPublicKey(privateKey))).toBe('BAD_KEY');
    expect(thrownCode(() => loadIntellaPrivateKey(publicKey))).toBe('BAD_KEY');
    expect(thrownCode(() => loadIntellaPrivateKey(Buffer.from([1, 2, 3])))).toBe('BAD_KEY');
    expect(thrownCode(() => encryptResponse(seedResponse, Buffer.alloc(15), IV))).toBe('BAD_KEY');
    expect(thrownCode(() => decryptResponse({ Response: 'AAAA' }, Buffer.alloc(32), IV))).toBe(
      'BAD_KEY',
    );
  });

  it('plain text that is not a JSON object is MALFORMED_JSON before anything is sent', () => {
    expect(
      thrownCode(() => encryptRequest('not json', { intellaPublicKey: publicKey, iv: IV })),
    ).toBe('MALFORMED_JSON');
    expect(thrownCode(() => encryptRequest('[1]', { intellaPublicKey: publicKey, iv: IV }))).toBe(
      'MALFORMED_JSON',
    );
    expect(thrownCode(() => encryptResponse({ big: 1n }, sealed.aesKey, IV))).toBe(
      'MALFORMED_JSON',
    );
  });

  it.each([
    ['not JSON', '{'],
    ['an array', '[]'],
    ['missing ApiKey', { Request: 'AAAA' }],
    ['a numeric Request', { Request: 1, ApiKey: 'AAAA' }],
    ['a non-Base64 Request', { Request: '%%%%', ApiKey: sealed.wire.ApiKey }],
    ['a non-Base64 ApiKey', { Request: sealed.wire.Request, ApiKey: 'abc' }],
  ])('a request body that is %s is MALFORMED_ENVELOPE', (_label, body) => {
    expect(thrownCode(() => decryptRequest(body, { privateKey, iv: IV }))).toBe(
      'MALFORMED_ENVELOPE',
    );
  });

  it('an unencrypted error header surfaces its StatusCode in details', () => {
    try {
      parseWireResponse({ Header: { StatusCode: '8003', StatusDesc: 'decrypt fail' } });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(IntellaProtocolError);
      expect((error as IntellaProtocolError).code).toBe('MALFORMED_ENVELOPE');
      expect((error as IntellaProtocolError).details).toEqual({ statusCode: '8003' });
    }
  });

  it.each([
    ['the text 8003', '8003'],
    ['the text 8003 with a newline', '8003\n'],
    ['the bytes of 8003', Buffer.from('8003')],
    ['a JSON string "8003"', '"8003"'],
  ])('a bare StatusCode body (%s) surfaces its code in details', (_label, body) => {
    try {
      parseWireResponse(body);
      expect.unreachable();
    } catch (error) {
      expect((error as IntellaProtocolError).code).toBe('MALFORMED_ENVELOPE');
      expect((error as IntellaProtocolError).details).toEqual({ statusCode: '8003' });
      expect((error as Error).message).toContain('8003');
    }
  });

  it('reads a body that is not a code at all without a StatusCode', () => {
    for (const body of ['80031', 'error', '']) {
      try {
        parseWireResponse(body);
        expect.unreachable();
      } catch (error) {
        expect((error as IntellaProtocolError).details).toBeUndefined();
      }
    }
  });

  it('errors never carry the AES key or the TradeKey', () => {
    const keyText = sealed.aesKey.toString('base64');
    const failures = [
      () => decryptRequest(sealed.wire, { privateKey: other.privateKey, iv: IV }),
      () => decryptRequest(sealed.wire, { privateKey, iv: OTHER_IV }),
      () =>
        decryptResponse(encryptResponse(seedResponse, sealed.aesKey, IV), sealed.aesKey, OTHER_IV),
    ];
    for (const failure of failures) {
      try {
        failure();
        expect.unreachable();
      } catch (error) {
        const text = JSON.stringify({
          message: (error as Error).message,
          details: (error as IntellaProtocolError).details,
        });
        expect(text).not.toContain(keyText);
        expect(text).not.toContain(seedRequest.Header.TradeKey);
        expect(text).not.toContain('ACCOUNT001');
      }
    }
  });
});

describe('fuzz: every wire parser returns or throws IntellaProtocolError', () => {
  const aesKey = randomBytes(16);
  const parsers: Array<[string, (input: unknown) => unknown]> = [
    ['parseWireRequest', parseWireRequest],
    ['parseWireResponse', parseWireResponse],
    ['decryptRequest', (input) => decryptRequest(input, { privateKey, iv: IV })],
    ['decryptResponse', (input) => decryptResponse(input, aesKey, IV)],
    ['loadIntellaPublicKey', (input) => loadIntellaPublicKey(input as string)],
  ];
  const inputs = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.string(),
    fc.json(),
    fc.anything(),
    fc.record({ Request: fc.base64String(), ApiKey: fc.base64String() }),
    fc.record({ Response: fc.base64String() }),
  );

  it.each(parsers)('%s', (_name, parse) => {
    fc.assert(
      fc.property(inputs, (input) => {
        expect(thrownCode(() => parse(input))).not.toBe('FOREIGN_ERROR');
      }),
      { numRuns: 300 },
    );
  });

  it('decryptResponse of random AES blocks is a typed error', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), (blocks) => {
        const Response = randomBytes(16 * blocks).toString('base64');
        expect(['DECRYPTION_FAILED', 'MALFORMED_JSON']).toContain(
          thrownCode(() => decryptResponse({ Response }, aesKey, IV)),
        );
      }),
      { numRuns: 100 },
    );
  });
});
