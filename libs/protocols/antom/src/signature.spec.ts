import { generateKeyPairSync, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AntomProtocolError } from './errors';
import { ANTOM_PATHS } from './paths';
import { InMemoryReplayGuard } from './replay-guard';
import { formatSignatureHeader } from './signature-header';
import {
  ANTOM_SIGNATURE_FAILURES,
  DIAGNOSIS_CODE_FOR_SIGNATURE_FAILURE,
  DSTORE_CODE_FOR_SIGNATURE_FAILURE,
  buildSigningContent,
  signRequest,
  signResponse,
  verifyRequest,
  verifyResponse,
  type AntomSignatureFailure,
  type VerifyRequestInput,
} from './signature';

function rsaPair() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKey,
    publicKey,
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    privateB64: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
    publicB64: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
  };
}

const pos = rsaPair();
const other = rsaPair();
const NOW = Date.UTC(2024, 4, 28, 4, 12, 12, 345);
const PATH = ANTOM_PATHS.INQUIRE_ORDER_DETAIL;
const CLIENT = 'SNK2024000001';
const BODY = '{"requestOrderId":"pds_2109_2022_1"}';

function signed(overrides: Partial<Parameters<typeof signRequest>[0]> = {}) {
  return signRequest({
    path: PATH,
    clientId: CLIENT,
    requestTime: NOW,
    body: BODY,
    privateKey: pos.privatePem,
    ...overrides,
  });
}

function verifyInput(
  headers: Record<string, string>,
  overrides: Partial<VerifyRequestInput> = {},
): VerifyRequestInput {
  return {
    method: 'POST',
    path: PATH,
    headers,
    rawBody: BODY,
    publicKey: pos.publicPem,
    now: NOW,
    ...overrides,
  };
}

async function reasonOf(
  headers: Record<string, string>,
  overrides: Partial<VerifyRequestInput> = {},
) {
  const result = await verifyRequest(verifyInput(headers, overrides));
  return result.ok ? 'OK' : result.reason;
}

/** The URL-encoded value after `signature=` in a header we produced. */
function encodedSignatureOf(header: string): string {
  const match = /signature=([^,]*)$/.exec(header);
  if (match === null) throw new Error('no signature attribute');
  return match[1];
}

describe('buildSigningContent', () => {
  it('is <METHOD> <path>\\n<Client-Id>.<time>.<body>', () => {
    expect(
      buildSigningContent(
        'POST',
        '/v2/pos/createOrder?a=1',
        'cid',
        '1716869532345',
        '{"a":1}',
      ).toString('utf8'),
    ).toBe('POST /v2/pos/createOrder?a=1\ncid.1716869532345.{"a":1}');
  });

  it('keeps body bytes as received', () => {
    const body = Uint8Array.from([0x7b, 0xff, 0x7d]);
    const content = buildSigningContent('post', '/p', 'c', 't', body);
    expect([...content.subarray(-3)]).toEqual([0x7b, 0xff, 0x7d]);
    expect(content.subarray(0, 10).toString()).toBe('POST /p\nc.');
  });
});

describe('signRequest / verifyRequest round trip', () => {
  it('produces the four Antom headers and verifies', async () => {
    const headers = signed();
    expect(Object.keys(headers)).toEqual([
      'Content-Type',
      'Client-Id',
      'Request-Time',
      'Signature',
    ]);
    expect(headers['Content-Type']).toBe('application/json; charset=UTF-8');
    expect(headers['Client-Id']).toBe(CLIENT);
    expect(headers['Request-Time']).toBe(String(NOW));
    expect(headers.Signature).toMatch(/^algorithm=RSA256,keyVersion=1,signature=[A-Za-z0-9%]+$/);
    expect(await verifyRequest(verifyInput(headers, { expectedClientId: CLIENT }))).toEqual({
      ok: true,
      clientId: CLIENT,
      requestTime: NOW,
      rawRequestTime: String(NOW),
      keyVersion: '1',
    });
  });

  it('accepts every key form: PEM, bare Base64 DER, KeyObject', async () => {
    for (const privateKey of [pos.privatePem, pos.privateB64, pos.privateKey]) {
      for (const publicKey of [pos.publicPem, pos.publicB64, pos.publicKey]) {
        expect(await reasonOf(signed({ privateKey }), { publicKey })).toBe('OK');
      }
    }
  });

  it('accepts an ISO Request-Time with offset and millis, and reports it as epoch millis', async () => {
    const headers = signed({ requestTime: '2024-05-28T12:12:12.345+08:00' });
    const result = await verifyRequest(verifyInput(headers));
    expect(result).toMatchObject({
      ok: true,
      requestTime: NOW,
      rawRequestTime: '2024-05-28T12:12:12.345+08:00',
    });
    const formatted = signed({
      requestTime: NOW,
      timeFormat: { format: 'iso', offsetMinutes: 480 },
    });
    expect(formatted['Request-Time']).toBe('2024-05-28T12:12:12.345+08:00');
  });

  it('signs the body as bytes and the path with its query', async () => {
    const body = Buffer.from('{"name":"김밥"}', 'utf8');
    const headers = signed({ body, path: '/v2/pos/createOrder?x=1' });
    expect(await reasonOf(headers, { rawBody: body, path: '/v2/pos/createOrder?x=1' })).toBe('OK');
    expect(await reasonOf(headers, { rawBody: body, path: '/v2/pos/createOrder' })).toBe(
      'SIGNATURE_MISMATCH',
    );
  });

  it('carries another keyVersion through', async () => {
    const headers = signed({ keyVersion: 2 });
    expect(headers.Signature.startsWith('algorithm=RSA256,keyVersion=2,signature=')).toBe(true);
    expect(await verifyRequest(verifyInput(headers))).toMatchObject({ ok: true, keyVersion: '2' });
  });

  it('finds headers whatever their case, in records and in fetch Headers', async () => {
    const headers = signed();
    const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
    const upper = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]));
    expect(await reasonOf(lower)).toBe('OK');
    expect(await reasonOf(upper)).toBe('OK');
    const fetchHeaders = new Headers(headers);
    expect((await verifyRequest({ ...verifyInput({}), headers: fetchHeaders })).ok).toBe(true);
  });

  it('accepts spaces after the commas and a signature that was never URL-encoded', async () => {
    const headers = signed();
    const spaced = { ...headers, Signature: headers.Signature.replace(/,/g, ', ') };
    expect(await reasonOf(spaced)).toBe('OK');
    const raw = decodeURIComponent(encodedSignatureOf(headers.Signature));
    expect(
      await reasonOf({ ...headers, Signature: `algorithm=RSA256,keyVersion=1,signature=${raw}` }),
    ).toBe('OK');
  });

  it('URL-encodes + / = in the header (searching payloads until the Base64 holds all three)', async () => {
    let found: ReturnType<typeof signed> | undefined;
    for (let i = 0; i < 200 && found === undefined; i++) {
      const headers = signed({ body: `{"n":${i}}` });
      const b64 = decodeURIComponent(encodedSignatureOf(headers.Signature));
      if (b64.includes('+') && b64.includes('/') && b64.includes('=')) found = headers;
    }
    expect(found).toBeDefined();
    const encoded = encodedSignatureOf(found!.Signature);
    expect(encoded).toContain('%2B');
    expect(encoded).toContain('%2F');
    expect(encoded).toContain('%3D');
    expect(encoded).not.toMatch(/[+/=]/);
  });

  it('verifies every + / = signature it finds', async () => {
    let checked = 0;
    for (let i = 0; i < 40; i++) {
      const body = `{"n":${i}}`;
      const headers = signed({ body });
      if (/%2B|%2F/.test(headers.Signature)) {
        expect(await reasonOf(headers, { rawBody: body })).toBe('OK');
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(30);
  });
});

describe('independent check against node:crypto and protocols.md §2', () => {
  const time = '2024-05-28T12:12:12.345+08:00';
  // Built by hand from the spec text, not with buildSigningContent.
  const content = `POST ${PATH}\n${CLIENT}.${time}.${BODY}`;

  it('our signature verifies with crypto.verify over the hand-built string', () => {
    const headers = signed({ requestTime: time });
    const signatureB64 = decodeURIComponent(encodedSignatureOf(headers.Signature));
    const ok = nodeVerify(
      'sha256',
      Buffer.from(content, 'utf8'),
      pos.publicPem,
      Buffer.from(signatureB64, 'base64'),
    );
    expect(ok).toBe(true);
    expect(Buffer.from(signatureB64, 'base64')).toHaveLength(256);
  });

  it('a signature made by hand with crypto.sign verifies with the lib', async () => {
    const signature = nodeSign('sha256', Buffer.from(content, 'utf8'), pos.privatePem).toString(
      'base64',
    );
    const headers = {
      'Client-Id': CLIENT,
      'Request-Time': time,
      Signature: `algorithm=RSA256,keyVersion=1,signature=${encodeURIComponent(signature)}`,
    };
    expect(await reasonOf(headers)).toBe('OK');
    expect(await reasonOf(headers, { rawBody: `${BODY} ` })).toBe('SIGNATURE_MISMATCH');
  });
});

describe('verifyRequest refusals, each with its own reason', () => {
  const headers = signed();

  // RSA verification cannot tell a tampered body from a tampered path, method, time, Client-Id or a wrong key:
  // all of them are "this key did not sign these bytes", so they share SIGNATURE_MISMATCH on purpose.
  it.each<[string, Record<string, string>, Partial<VerifyRequestInput>, AntomSignatureFailure]>([
    ['tampered body', headers, { rawBody: BODY.replace('1"', '2"') }, 'SIGNATURE_MISMATCH'],
    ['tampered path', headers, { path: ANTOM_PATHS.CREATE_ORDER }, 'SIGNATURE_MISMATCH'],
    ['tampered method', headers, { method: 'PUT' }, 'SIGNATURE_MISMATCH'],
    ['wrong key', headers, { publicKey: other.publicPem }, 'SIGNATURE_MISMATCH'],
    [
      'tampered time inside the window',
      { ...headers, 'Request-Time': String(NOW + 1) },
      {},
      'SIGNATURE_MISMATCH',
    ],
    [
      'tampered Client-Id, no expected id',
      { ...headers, 'Client-Id': 'SNK2024000002' },
      {},
      'SIGNATURE_MISMATCH',
    ],
    [
      'tampered Client-Id, expected id set',
      { ...headers, 'Client-Id': 'SNK2024000002' },
      { expectedClientId: CLIENT },
      'CLIENT_ID_MISMATCH',
    ],
    [
      'tampered time outside the window',
      { ...headers, 'Request-Time': String(NOW - 300_001) },
      {},
      'TIME_OUTSIDE_WINDOW',
    ],
    [
      'clock ahead of the window',
      headers,
      { now: NOW + 60_001, maxSkewMs: 60_000 },
      'TIME_OUTSIDE_WINDOW',
    ],
    [
      'time in another format',
      { ...headers, 'Request-Time': '28/05/2024 12:12:12' },
      {},
      'BAD_TIME_FORMAT',
    ],
    [
      'truncated signature',
      { ...headers, Signature: truncated(headers.Signature, 255) },
      {},
      'SIGNATURE_WRONG_LENGTH',
    ],
    [
      'half a signature',
      { ...headers, Signature: truncated(headers.Signature, 128) },
      {},
      'SIGNATURE_WRONG_LENGTH',
    ],
    [
      'signature that is not Base64',
      { ...headers, Signature: 'algorithm=RSA256,keyVersion=1,signature=not*base64' },
      {},
      'MALFORMED_SIGNATURE',
    ],
    [
      'algorithm other than RSA256',
      { ...headers, Signature: headers.Signature.replace('RSA256', 'RSA512') },
      {},
      'UNSUPPORTED_ALGORITHM',
    ],
    [
      'malformed Signature header',
      { ...headers, Signature: 'RSA256 abcdef' },
      {},
      'MALFORMED_SIGNATURE_HEADER',
    ],
    ['missing Client-Id', without(headers, 'Client-Id'), {}, 'MISSING_CLIENT_ID'],
    ['empty Client-Id', { ...headers, 'Client-Id': ' ' }, {}, 'MISSING_CLIENT_ID'],
    ['missing Request-Time', without(headers, 'Request-Time'), {}, 'MISSING_REQUEST_TIME'],
    ['missing Signature', without(headers, 'Signature'), {}, 'MISSING_SIGNATURE'],
    [
      'two Signature headers that differ',
      { ...headers, signature: 'algorithm=RSA256,signature=AAAA' },
      {},
      'DUPLICATE_HEADER',
    ],
  ])('%s -> %s', async (_case, tampered, overrides, reason) => {
    const result = await verifyRequest(verifyInput(tampered, overrides));
    expect(result).toEqual({
      ok: false,
      reason,
      message: expect.stringContaining(ANTOM_SIGNATURE_FAILURES[reason]),
    });
  });

  it('names the missing or bad header in the message and never echoes the signature', async () => {
    const missing = await verifyRequest(verifyInput(without(headers, 'Request-Time')));
    expect(!missing.ok && missing.message).toMatch(/Request-Time/);
    const tampered = await verifyRequest(verifyInput(headers, { rawBody: '{}' }));
    const signatureB64 = decodeURIComponent(encodedSignatureOf(headers.Signature));
    expect(JSON.stringify(tampered)).not.toContain(signatureB64.slice(0, 20));
  });

  it('accepts a repeated header carrying the same value (proxies sometimes duplicate)', async () => {
    expect(await reasonOf({ ...headers, 'client-id': CLIENT })).toBe('OK');
  });

  it('refuses a replay when a guard is given, after the first acceptance', async () => {
    const replayGuard = new InMemoryReplayGuard({ now: () => NOW });
    expect(await reasonOf(headers, { replayGuard })).toBe('OK');
    expect(await reasonOf(headers, { replayGuard })).toBe('REPLAY');
    expect(await reasonOf(signed({ requestTime: NOW + 1 }), { replayGuard })).toBe('OK');
  });

  it('does not let forged messages into the replay guard', async () => {
    const replayGuard = new InMemoryReplayGuard({ now: () => NOW });
    expect(await reasonOf(headers, { replayGuard, rawBody: '{}' })).toBe('SIGNATURE_MISMATCH');
    expect(replayGuard.size).toBe(0);
  });

  it('awaits an asynchronous replay guard', async () => {
    const keys: Array<[string, number]> = [];
    const replayGuard = {
      seen: async (key: string, expiresAtMs: number) => (
        keys.push([key, expiresAtMs]),
        keys.length > 1
      ),
    };
    expect(await reasonOf(headers, { replayGuard, maxSkewMs: 1_000 })).toBe('OK');
    expect(await reasonOf(headers, { replayGuard, maxSkewMs: 1_000 })).toBe('REPLAY');
    expect(keys[0][1]).toBe(NOW + 1_000);
    expect(keys[0][0].startsWith(`${CLIENT}\n`)).toBe(true);
    expect(keys[0][0]).not.toContain(decodeURIComponent(encodedSignatureOf(headers.Signature)));
  });

  it('throws INVALID_KEY for an unusable configured key, without echoing it', async () => {
    const bad = 'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAbroken';
    await expect(verifyRequest(verifyInput(headers, { publicKey: bad }))).rejects.toMatchObject({
      code: 'INVALID_KEY',
    });
    await expect(verifyRequest(verifyInput(headers, { publicKey: bad }))).rejects.not.toThrow(
      /MIIB/,
    );
    await expect(verifyRequest(verifyInput({}, { publicKey: bad }))).rejects.toMatchObject({
      code: 'INVALID_KEY',
    });
    expect(() => signed({ privateKey: pos.publicPem })).toThrow(
      expect.objectContaining({ code: 'INVALID_KEY' }),
    );
    expect(() => signed({ privateKey: 'not a key' })).toThrow(AntomProtocolError);
  });

  it('throws INVALID_ARGUMENT for an unusable clock or window', async () => {
    await expect(verifyRequest(verifyInput(headers, { now: Number.NaN }))).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(verifyRequest(verifyInput(headers, { maxSkewMs: -1 }))).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });

  it('never throws for anything a sender controls', async () => {
    const names = fc.constantFrom(
      'Client-Id',
      'client-id',
      'Request-Time',
      'Signature',
      'signature',
      'X',
    );
    const values = fc.oneof(
      fc.string(),
      fc.constant(headers.Signature),
      fc.constant(String(NOW)),
      fc
        .uint8Array({ minLength: 250, maxLength: 260 })
        .map(
          (b) =>
            `algorithm=RSA256,signature=${encodeURIComponent(Buffer.from(b).toString('base64'))}`,
        ),
    );
    const reasons = new Set(Object.keys(ANTOM_SIGNATURE_FAILURES));
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(names, values),
        fc.oneof(fc.string(), fc.uint8Array()),
        async (fuzzed, rawBody) => {
          const result = await verifyRequest(verifyInput(fuzzed, { rawBody }));
          expect(result.ok || reasons.has(result.reason)).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('signResponse / verifyResponse', () => {
  const RESPONSE =
    '{"result":{"resultStatus":"S","resultCode":"SUCCESS","resultMessage":"success"}}';
  const respond = (responseTime: number | string = NOW) =>
    signResponse({
      path: PATH,
      clientId: CLIENT,
      responseTime,
      body: RESPONSE,
      privateKey: other.privatePem,
    });
  const check = (headers: Record<string, string>, rawBody = RESPONSE, clientId = CLIENT) =>
    verifyResponse({
      path: PATH,
      clientId,
      headers,
      rawBody,
      publicKey: other.publicB64,
      now: NOW,
    });

  it('uses the lower-case response headers and verifies', async () => {
    const headers = respond();
    expect(Object.keys(headers)).toEqual([
      'content-type',
      'client-id',
      'response-time',
      'signature',
    ]);
    expect(await check(headers)).toEqual({
      ok: true,
      clientId: CLIENT,
      responseTime: NOW,
      rawResponseTime: String(NOW),
      keyVersion: '1',
      skewMs: 0,
      outsideWindow: false,
    });
  });

  it('accepts a correctly signed response whose time is outside the window, and reports the skew', async () => {
    expect(await check(respond(NOW - 600_000))).toMatchObject({
      ok: true,
      skewMs: -600_000,
      outsideWindow: true,
    });
    expect(await check(respond(NOW + 300_001))).toMatchObject({ ok: true, outsideWindow: true });
    expect(await check(respond(NOW + 300_000))).toMatchObject({ ok: true, outsideWindow: false });
  });

  it('signs <METHOD> <path>\\n<Client-Id>.<Response-Time>.<body>, checked with crypto.verify', () => {
    const headers = respond('2024-05-28T12:12:12.345+08:00');
    const content = `POST ${PATH}\n${CLIENT}.2024-05-28T12:12:12.345+08:00.${RESPONSE}`;
    const signature = Buffer.from(
      decodeURIComponent(encodedSignatureOf(headers.signature)),
      'base64',
    );
    expect(nodeVerify('sha256', Buffer.from(content), other.publicKey, signature)).toBe(true);
  });

  it('works without a client-id header, using the Client-Id the request was sent with', async () => {
    expect((await check(without(respond(), 'client-id'))).ok).toBe(true);
    expect(await check(without(respond(), 'client-id'), RESPONSE, 'someone-else')).toMatchObject({
      reason: 'SIGNATURE_MISMATCH',
    });
  });

  it.each<[string, Record<string, string>, string, AntomSignatureFailure]>([
    ['tampered body', respond(), RESPONSE.replace('success', 'failure'), 'SIGNATURE_MISMATCH'],
    ['other client-id', { ...respond(), 'client-id': 'x' }, RESPONSE, 'CLIENT_ID_MISMATCH'],
    [
      'missing response-time',
      without(respond(), 'response-time'),
      RESPONSE,
      'MISSING_RESPONSE_TIME',
    ],
    ['missing signature', without(respond(), 'signature'), RESPONSE, 'MISSING_SIGNATURE'],
    [
      'stale response with a tampered body',
      respond(NOW - 600_000),
      RESPONSE.replace('success', 'failure'),
      'SIGNATURE_MISMATCH',
    ],
  ])('%s -> %s', async (_case, headers, body, reason) => {
    expect(await check(headers, body)).toMatchObject({ ok: false, reason });
  });
});

describe('signature failure to answer code', () => {
  it.each(Object.keys(ANTOM_SIGNATURE_FAILURES) as AntomSignatureFailure[])(
    '%s maps to a D-Store and a terminal code',
    (reason) => {
      const clientTrouble = reason === 'MISSING_CLIENT_ID' || reason === 'CLIENT_ID_MISMATCH';
      // Every signing-header problem, time included, is INVALID_SIGNATURE for D-Store; PARAM_ILLEGAL is the body's.
      expect(DSTORE_CODE_FOR_SIGNATURE_FAILURE[reason]).toBe(
        clientTrouble ? 'ACCESS_DENIED' : 'INVALID_SIGNATURE',
      );
      expect(DIAGNOSIS_CODE_FOR_SIGNATURE_FAILURE[reason]).toBe(
        clientTrouble ? 'CLIENT_INVALID' : 'INVALID_SIGNATURE',
      );
    },
  );
});

/** The same header with the signature cut to its first `bytes` bytes, still valid URL-encoded Base64. */
function truncated(header: string, bytes: number): string {
  const signature = Buffer.from(decodeURIComponent(encodedSignatureOf(header)), 'base64');
  expect(signature).toHaveLength(256);
  return formatSignatureHeader({
    algorithm: 'RSA256',
    keyVersion: '1',
    signature: signature.subarray(0, bytes).toString('base64'),
  });
}

function without<T extends Record<string, string>>(
  headers: T,
  name: string,
): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => k !== name));
}
