import { ManualClock } from '@tillbus/messaging';
import { generateKeyPairSync } from 'node:crypto';
import { JsonLogger } from '@tillbus/observability';
import { readDeviceList, tradeKeyFromPassword } from '@tillbus/protocols-intella';
import { freePort } from '@tillbus/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IntellaClient } from '../src/vendor/intella-client';
import { resolveMerchants, type ResolvedMerchant } from '../src/vendor/merchants';
import { SecretResolver } from '@tillbus/config';
import { randomIv, startSimulatorProcess, type SimProcess } from './support/intella-sim';
import { T0 } from './support/service';

const PASSWORD = 'interop-pw';
const IV = randomIv();
let sim: SimProcess;
let merchant: ResolvedMerchant;
const logs: string[] = [];

function client(options: { fetch?: typeof fetch; timeoutMs?: number } = {}) {
  return new IntellaClient({
    timeoutMs: options.timeoutMs ?? 2000,
    maxTries: 3,
    clock: new ManualClock(T0),
    logger: new JsonLogger({ service: 'interop', level: 'debug', write: (l) => logs.push(l) }),
    fetch: options.fetch,
  });
}

/** The merchant as the service resolves it from configuration (secrets by reference). */
function resolved(
  overrides: Partial<Record<'password' | 'publicKey' | 'iv' | 'url', string>> = {},
) {
  const env = {
    TP: overrides.password ?? PASSWORD,
    PUB: overrides.publicKey ?? sim.publicKeyPem,
    IV: overrides.iv ?? IV,
  };
  return resolveMerchants(
    [
      {
        mchId: 'INTEROP',
        url: overrides.url ?? sim.url,
        tradePassword: 'env:TP',
        publicKey: 'env:PUB',
        iv: 'env:IV',
      },
    ],
    new SecretResolver({ env }),
  ).get('INTEROP')!;
}

const signOn = (c: IntellaClient, m: ResolvedMerchant = merchant) =>
  c.call(m, 'SignOn', { DeviceId: '01300001', Retry: '0' });

beforeAll(async () => {
  sim = await startSimulatorProcess({
    merchants: [{ mchId: 'INTEROP', password: PASSWORD, iv: IV, readerCount: 3 }],
  });
  merchant = resolved();
});
afterAll(() => sim?.stop());
afterEach(() => sim.clearFaults());

describe("envelope interop: the service client against the simulator's independent server side", () => {
  it('SignOn both ways: the simulator opens the request, the client opens the answer', async () => {
    const result = await signOn(client());
    expect(result).toMatchObject({
      outcome: 'SUCCESS',
      reason: 'OK',
      statusCode: '0000',
      errorCode: '000000',
      tries: 1,
    });
    const keys = await sim.issuedKeys();
    expect(result.data?.NewAESKey).toBe(keys['01300001'].at(-1));
    expect(merchant.tradeKey).toBe(tradeKeyFromPassword(PASSWORD));
  });

  it('DeviceQuery lists the readers', async () => {
    const result = await client().call(merchant, 'DeviceQuery', {
      DeviceId: '00000000',
      Retry: '0',
    });
    expect(result.outcome).toBe('SUCCESS');
    expect(readDeviceList(result.data!, 'DeviceList')).toHaveLength(3);
  });

  it('a wrong RSA key: intella cannot decrypt (8003) -> CONFIG_ERROR', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    const result = await signOn(client(), resolved({ publicKey: other.toString() }));
    expect(result).toMatchObject({
      outcome: 'CONFIG_ERROR',
      reason: 'DECRYPTION_FAILED',
      statusCode: '8003',
    });
  });

  it('a wrong IV: intella cannot read the request (8003) -> CONFIG_ERROR', async () => {
    const result = await signOn(client(), resolved({ iv: randomIv() }));
    expect(result).toMatchObject({
      outcome: 'CONFIG_ERROR',
      reason: 'DECRYPTION_FAILED',
      statusCode: '8003',
    });
  });

  it('a request body corrupted in transit -> 8003', async () => {
    const corrupting: typeof fetch = (url, init) => {
      const wire = JSON.parse(String(init!.body)) as { Request: string; ApiKey: string };
      const bytes = Buffer.from(wire.Request, 'base64');
      bytes[bytes.length - 1] ^= 0xff;
      return fetch(url, {
        ...init,
        body: JSON.stringify({ ...wire, Request: bytes.toString('base64') }),
      });
    };
    const result = await signOn(client({ fetch: corrupting }));
    expect(result).toMatchObject({
      outcome: 'CONFIG_ERROR',
      reason: 'DECRYPTION_FAILED',
      statusCode: '8003',
    });
  });

  it('an answer corrupted by the server -> RESPONSE_UNREADABLE (CONFIG_ERROR)', async () => {
    await sim.addFault({ kind: 'corrupt-response', times: 1 });
    expect(await signOn(client())).toMatchObject({
      outcome: 'CONFIG_ERROR',
      reason: 'RESPONSE_UNREADABLE',
    });
  });

  it('an answer corrupted in transit (first block) -> RESPONSE_UNREADABLE', async () => {
    const corrupting: typeof fetch = async (url, init) => {
      const response = await fetch(url, init);
      const body = (await response.json()) as { Response: string };
      const bytes = Buffer.from(body.Response, 'base64');
      bytes[0] ^= 0xff;
      return new Response(JSON.stringify({ Response: bytes.toString('base64') }), { status: 200 });
    };
    expect(await signOn(client({ fetch: corrupting }))).toMatchObject({
      outcome: 'CONFIG_ERROR',
      reason: 'RESPONSE_UNREADABLE',
    });
  });

  it('a wrong trade password -> 7105 BAD_TRADE_KEY', async () => {
    expect(await signOn(client(), resolved({ password: 'wrong' }))).toMatchObject({
      outcome: 'CONFIG_ERROR',
      reason: 'BAD_TRADE_KEY',
      statusCode: '7105',
    });
  });

  it('transport: refused connection, wrong path, no answer', async () => {
    const closed = `http://127.0.0.1:${await freePort()}/allpaypass/api/general`;
    expect(await signOn(client(), resolved({ url: closed }))).toMatchObject({
      outcome: 'RETRYABLE',
      reason: 'UNREACHABLE',
    });
    expect(
      await signOn(client(), resolved({ url: sim.url.replace('/general', '/wrong') })),
    ).toMatchObject({
      outcome: 'CONFIG_ERROR',
      reason: 'HTTP_4XX',
    });
    await sim.addFault({ kind: 'no-answer', times: 1 });
    expect(await signOn(client({ timeoutMs: 300 }))).toMatchObject({
      outcome: 'RETRYABLE',
      reason: 'TIMEOUT',
    });
  });

  it('the Retry rule: two 000125 answers, then success on the third request', async () => {
    await sim.addFault({ kind: 'retry', serviceType: 'SignOn', deviceId: '01300002', times: 2 });
    const before = await sim.reader('01300002');
    const result = await client().call(merchant, 'SignOn', { DeviceId: '01300002', Retry: '0' });
    expect(result).toMatchObject({ outcome: 'SUCCESS', tries: 3, retryLimitReached: false });
    const after = await sim.reader('01300002');
    expect(after.signOnRequests - before.signOnRequests).toBe(3);
    expect(after.retries - before.retries).toBe(2);
  });

  it('the Retry rule stops after 3 requests and surfaces the error', async () => {
    await sim.addFault({ kind: 'retry', serviceType: 'SignOn', deviceId: '01300003' });
    const result = await client().call(merchant, 'SignOn', { DeviceId: '01300003', Retry: '0' });
    expect(result).toMatchObject({
      outcome: 'RETRYABLE',
      reason: 'RETRY_REQUIRED',
      tries: 3,
      retryLimitReached: true,
    });
  });

  it('never logs a key or the TradeKey, even at debug level', async () => {
    const keys = Object.values(await sim.issuedKeys()).flat();
    expect(keys.length).toBeGreaterThan(0);
    const text = logs.join('\n');
    expect(text).toContain('intella answer');
    for (const key of keys) expect(text).not.toContain(key);
    expect(text).not.toContain(merchant.tradeKey);
    expect(text).not.toContain(PASSWORD);
  });
});
