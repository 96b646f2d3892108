import { ManualClock } from '@tillbus/messaging';
import { generateKeyPairSync } from 'node:crypto';
import { JsonLogger } from '@tillbus/observability';
import {
  buildPlainResponse,
  decryptRequest,
  encryptResponse,
  parsePlainRequest,
  tradeKeyFromPassword,
  type JsonObject,
} from '@tillbus/protocols-intella';
import { OUTCOME_NAMES } from '@tillbus/result-codes';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ResolvedMerchant } from './merchants';
import { IntellaClient } from './intella-client';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
const IV = 'abcdefghijklmnop';
const merchant: ResolvedMerchant = {
  mchId: 'ACCOUNT001',
  url: 'https://intella.invalid/allpaypass/api/general',
  tradeKey: tradeKeyFromPassword('pw'),
  publicKey,
  iv: IV,
};
const observed: string[] = [];

function client(fetcher: typeof fetch, maxTries = 3): IntellaClient {
  return new IntellaClient({
    timeoutMs: 1000,
    maxTries,
    clock: new ManualClock(Date.UTC(2024, 0, 1)),
    logger: new JsonLogger({ service: 'spec', write: () => undefined }),
    fetch: fetcher,
    observe: (serviceType, result) => observed.push(`${serviceType}:${result}`),
  });
}

/** A scripted intella on the lib's server side: each request gets the next answer. */
function scripted(
  answers: Array<{ statusCode: string; data?: JsonObject }>,
  seen: JsonObject[] = [],
): typeof fetch {
  let i = 0;
  return async (_url, init) => {
    const { plain, aesKey } = decryptRequest(String(init!.body), { privateKey, iv: IV });
    seen.push(parsePlainRequest(plain).data);
    const answer = answers[Math.min(i++, answers.length - 1)];
    const response = buildPlainResponse({
      ...answer,
      responseTime: new Date(),
      serviceType: 'SignOn',
    });
    return new Response(JSON.stringify(encryptResponse(response, aesKey, IV)));
  };
}

const signOn = (c: IntellaClient) =>
  c.call(merchant, 'SignOn', { DeviceId: '01300001', Retry: '0' });

describe('IntellaClient', () => {
  it('StatusCode 0000 alone is not success: ErrorCode must be 000000', async () => {
    expect(
      await signOn(client(scripted([{ statusCode: '0000', data: { Retry: '0' } }]))),
    ).toMatchObject({
      outcome: 'UNKNOWN',
      reason: 'ERROR_CODE_MISSING',
    });
    expect(
      await signOn(client(scripted([{ statusCode: '0000', data: { ErrorCode: '000000' } }]))),
    ).toMatchObject({
      outcome: 'SUCCESS',
    });
  });

  it('resends with the Retry value and the fields the answer returned, at most maxTries times', async () => {
    const seen: JsonObject[] = [];
    const result = await signOn(
      client(
        scripted(
          [
            { statusCode: '0000', data: { ErrorCode: '000125', Retry: '1', DeviceId: '01300001' } },
            { statusCode: '0000', data: { ErrorCode: '046201', Retry: '2' } },
            { statusCode: '0000', data: { ErrorCode: '000000' } },
          ],
          seen,
        ),
      ),
    );
    expect(result).toMatchObject({ outcome: 'SUCCESS', tries: 3 });
    expect(seen.map((data) => data.Retry)).toEqual(['0', '1', '2']);
    const limited = await signOn(
      client(scripted([{ statusCode: '0000', data: { ErrorCode: '000125', Retry: '1' } }]), 2),
    );
    expect(limited).toMatchObject({
      outcome: 'RETRYABLE',
      reason: 'RETRY_REQUIRED',
      tries: 2,
      retryLimitReached: true,
    });
  });

  it('does not resend on a 99xx without Data.Retry (the session machine backs off instead)', async () => {
    const seen: JsonObject[] = [];
    expect(await signOn(client(scripted([{ statusCode: '9999' }], seen)))).toMatchObject({
      outcome: 'RETRYABLE',
      reason: 'UNAVAILABLE',
      tries: 1,
    });
    expect(seen).toHaveLength(1);
  });

  it.each([
    ['HTTP 500 without an envelope', () => new Response('oops', { status: 500 }), 'HTTP_5XX'],
    ['HTTP 404', () => new Response('nope', { status: 404 }), 'HTTP_4XX'],
    [
      'an unencrypted 8003 header',
      () => new Response('{"Header":{"StatusCode":"8003"}}'),
      'DECRYPTION_FAILED',
    ],
    ['garbage with 200', () => new Response('<html>'), 'RESPONSE_UNREADABLE'],
    ['a bare 8003 body', () => new Response('8003'), 'DECRYPTION_FAILED'],
    [
      'a bare 8015 body with HTTP 500',
      () => new Response('8015', { status: 500 }),
      'INTELLA_NETWORK_FAILED',
    ],
  ])('%s -> %s', async (_name, respond, reason) => {
    expect((await signOn(client(async () => respond()))).reason).toBe(reason);
  });

  it('reports a bare StatusCode body with its code', async () => {
    expect(await signOn(client(async () => new Response('8003')))).toMatchObject({
      outcome: 'CONFIG_ERROR',
      reason: 'DECRYPTION_FAILED',
      statusCode: '8003',
    });
  });

  it('reads an answer whose Response carries a literal \\u003d', async () => {
    const fetcher: typeof fetch = async (_url, init) => {
      const { aesKey } = decryptRequest(String(init!.body), { privateKey, iv: IV });
      const response = buildPlainResponse({
        statusCode: '0000',
        data: { ErrorCode: '000000' },
        responseTime: new Date(),
        serviceType: 'SignOn',
      });
      const sealed = encryptResponse(response, aesKey, IV).Response;
      // at least one '=' is guaranteed by padding for most lengths; force the escape on every one
      return new Response(JSON.stringify({ Response: sealed.replace(/=/g, '\\u003d') }));
    };
    expect(await signOn(client(fetcher))).toMatchObject({ outcome: 'SUCCESS' });
  });

  it('counts every request by a bounded result label', async () => {
    observed.length = 0;
    await signOn(client(scripted([{ statusCode: '1234' }])));
    await signOn(client(async () => Promise.reject(new TypeError('fetch failed'))));
    expect(observed).toEqual(['SignOn:other', 'SignOn:UNREACHABLE']);
  });

  it('answers any response body with a verdict and never throws', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.base64String().map((b) => JSON.stringify({ Response: b })),
          fc
            .record({ Header: fc.record({ StatusCode: fc.string() }) })
            .map((o) => JSON.stringify(o)),
        ),
        fc.constantFrom(200, 400, 500),
        async (body, status) => {
          const result = await signOn(client(async () => new Response(body, { status })));
          expect(OUTCOME_NAMES).toContain(result.outcome);
          expect(result.outcome).not.toBe('SUCCESS');
        },
      ),
      { numRuns: 150 },
    );
  });
});
