import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import {
  buildPlainRequest,
  decryptResponse,
  encryptRequest,
  parsePlainResponse,
  readDeviceList,
  tradeKeyFromPassword,
  type JsonObject,
} from '@tillbus/protocols-intella';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { INTELLA_UNKNOWN_VALUES, type IntellaFaultKind } from './faults';
import { startIntellaSimulator, taiwanDay, type IntellaSimulator } from './simulator';

const PASSWORD = 'sim-trade-password';
const IV = 'IVIVIVIVIVIV1234';
const HOUR = 3_600_000;
let now = Date.UTC(2024, 0, 1, 2, 0, 0); // 10:00 in Taiwan
let sim: IntellaSimulator;

beforeAll(async () => {
  sim = await startIntellaSimulator({
    merchants: [
      { mchId: 'ACCOUNT001', tradePassword: PASSWORD, iv: IV, readerCount: 5 },
      { mchId: 'ACCOUNT002', tradePassword: 'other', iv: 'ivforaccount0002', readers: ['RDR-A'] },
    ],
    enforceSettlement: true,
    clock: () => now,
  });
});
afterAll(() => sim.close());
afterEach(() => sim.faults.clear());

interface CallOptions {
  mchId?: string;
  password?: string;
  iv?: string;
  publicKey?: string | import('node:crypto').KeyObject;
  timeoutMs?: number;
}

type Answer =
  | { kind: 'sealed'; statusCode: string; data: JsonObject | null; header: JsonObject; raw: string }
  | { kind: 'plain'; statusCode: string; httpStatus: number }
  | { kind: 'http'; httpStatus: number; text: string };

async function call(
  serviceType: string,
  data: JsonObject,
  options: CallOptions = {},
): Promise<Answer> {
  const iv = options.iv ?? IV;
  const plain = buildPlainRequest({
    serviceType,
    mchId: options.mchId ?? 'ACCOUNT001',
    tradeKey: tradeKeyFromPassword(options.password ?? PASSWORD),
    createTime: new Date(now),
    data,
  });
  const { wire, aesKey } = encryptRequest(plain, {
    intellaPublicKey: options.publicKey ?? sim.publicKeyPem,
    iv,
  });
  const res = await fetch(sim.url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(wire),
    signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
  });
  const text = await res.text();
  if (res.status !== 200) return { kind: 'http', httpStatus: res.status, text };
  const body = JSON.parse(text) as { Response?: string; Header?: { StatusCode: string } } | number;
  // intella may answer with nothing but the StatusCode
  if (typeof body === 'number')
    return { kind: 'plain', statusCode: String(body), httpStatus: res.status };
  if (body.Response === undefined)
    return { kind: 'plain', statusCode: body.Header!.StatusCode, httpStatus: res.status };
  const answer = parsePlainResponse(decryptResponse(body, aesKey, iv));
  return {
    kind: 'sealed',
    statusCode: answer.header.StatusCode,
    data: answer.data,
    header: { ...answer.header },
    raw: text,
  };
}

const signOn = (deviceId: string, options?: CallOptions, retry = '0') =>
  call('SignOn', { DeviceId: deviceId, Retry: retry }, options);

describe('intella simulator: the EasyCard ServiceTypes', () => {
  it('DeviceQuery lists the readers bound to the merchant', async () => {
    const answer = await call('DeviceQuery', { DeviceId: '00000000', Retry: '0' });
    expect(answer.kind).toBe('sealed');
    if (answer.kind !== 'sealed') return;
    expect(answer.statusCode).toBe('0000');
    expect(answer.data?.ErrorCode).toBe('000000');
    expect(readDeviceList(answer.data!, 'DeviceList')).toEqual(
      ['01300001', '01300002', '01300003', '01300004', '01300005'].map((DeviceId) => ({
        DeviceId,
      })),
    );
    const second = await call(
      'DeviceQuery',
      { DeviceId: '00000000' },
      { mchId: 'ACCOUNT002', password: 'other', iv: 'ivforaccount0002' },
    );
    expect(second.kind === 'sealed' && readDeviceList(second.data!, 'DeviceList')).toEqual([
      { DeviceId: 'RDR-A' },
    ]);
  });

  it("SignOn answers the seed's fields with a fresh NewAESKey, and counts it", async () => {
    const before = sim.reader('01300001')!.signOnRequests;
    const answer = await signOn('01300001');
    expect(answer).toMatchObject({ kind: 'sealed', statusCode: '0000' });
    const data = (answer as { data: JsonObject }).data;
    expect(data).toMatchObject({
      TXNResult: 'Success',
      Retry: '0',
      ErrorCode: '000000',
      NewDeviceID: '083000000' + '1300001',
    });
    expect(data.DeviceID).toMatch(/^\d{10}$/);
    expect(data.DongleDeviceID).toMatch(/^[0-9A-F]{12}$/);
    expect(data.NewAESKey).toMatch(/^[0-9a-f]{32}$/);
    expect(sim.issuedKeys()['01300001']).toContain(data.NewAESKey);
    expect(sim.reader('01300001')!.signOnRequests).toBe(before + 1);
    const again = await signOn('01300001');
    expect((again as { data: JsonObject }).data.NewAESKey).not.toBe(data.NewAESKey);
  });

  it('Settlement settles the reader', async () => {
    const answer = await call('Settlement', { DeviceId: '01300002', Retry: '0' });
    expect(answer).toMatchObject({
      kind: 'sealed',
      statusCode: '0000',
      data: { ErrorCode: '000000' },
    });
    expect(sim.reader('01300002')!.settlements).toBeGreaterThan(0);
  });

  it.each([
    ['a TradeKey from the wrong password', () => signOn('01300001', { password: 'wrong' }), '7105'],
    ['an unknown merchant', () => signOn('01300001', { mchId: 'NOPE' }), '7105'],
    ['a reader of another merchant', () => signOn('RDR-A'), '9998'],
    ['an unknown reader', () => signOn('99999999'), '9998'],
    ['a ServiceType it does not simulate', () => call('Payment', { DeviceId: '01300001' }), '9998'],
  ])('answers %s with %s', async (_name, run, status) => {
    expect(await run()).toMatchObject({ kind: 'sealed', statusCode: status });
  });

  it.each([
    [
      'a key wrapped for another RSA key',
      { publicKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey },
    ],
    ['a wrong IV', { iv: 'XXXXXXXXXXXXXXXX' }],
  ])('answers %s with an unencrypted 8003', async (_name, options) => {
    expect(await signOn('01300001', options)).toEqual({
      kind: 'plain',
      statusCode: '8003',
      httpStatus: 200,
    });
  });

  it('answers a corrupted or non-JSON body with an unencrypted 8003', async () => {
    for (const body of ['{"Request":"AAAA","ApiKey":"AAAA"}', 'not json', '']) {
      const res = await fetch(sim.url, { method: 'POST', body });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { Header: { StatusCode: string } }).Header.StatusCode).toBe(
        '8003',
      );
    }
  });
});

describe('intella simulator: scripted faults', () => {
  it.each([
    ['bad-trade-key', '7105', undefined],
    ['system-error', '9995', undefined],
    ['unavailable', '9999', undefined],
    ['failed', '9998', undefined],
    ['ongoing', '9997', undefined],
    ['deactivated', '7167', undefined],
    ['retry', '0000', '000125'],
    ['card-read-error', '0000', '046201'],
    ['reader-in-use', '0000', '900001'],
    ['dongle-mismatch', '0000', '900002'],
    ['unsettled', '0000', '010117'],
  ] as Array<[IntellaFaultKind, string, string | undefined]>)(
    '%s -> %s %s',
    async (kind, status, errorCode) => {
      sim.faults.add({ kind, deviceId: '01300003', times: 1 });
      const requestsBefore = sim.reader('01300003')!.signOnRequests;
      const answer = await signOn('01300003');
      expect(answer).toMatchObject({ kind: 'sealed', statusCode: status });
      if (errorCode) expect((answer as { data: JsonObject }).data.ErrorCode).toBe(errorCode);
      expect(sim.faults.list()).toEqual([]);
      expect(await signOn('01300003')).toMatchObject({
        statusCode: '0000',
        data: { ErrorCode: '000000' },
      });
      // a faulted request counts for its reader like any other
      expect(sim.reader('01300003')!.signOnRequests).toBe(requestsBefore + 2);
    },
  );

  it('retry: 000125 with Retry 1, then success when the client resends with Retry 1', async () => {
    sim.faults.add({ kind: 'retry', serviceType: 'SignOn', deviceId: '01300004', times: 1 });
    const retriesBefore = sim.reader('01300004')!.retries;
    const first = await signOn('01300004');
    expect((first as { data: JsonObject }).data).toMatchObject({ ErrorCode: '000125', Retry: '1' });
    const second = await signOn('01300004', {}, '1');
    expect((second as { data: JsonObject }).data).toMatchObject({ ErrorCode: '000000' });
    expect(sim.reader('01300004')!.retries).toBe(retriesBefore + 1);
  });

  it('decrypt-fail answers an unencrypted 8003 to a good request', async () => {
    sim.faults.add({ kind: 'decrypt-fail', deviceId: '01300002', times: 1 });
    const before = sim.reader('01300002')!.signOnRequests;
    expect(await signOn('01300002')).toEqual({
      kind: 'plain',
      statusCode: '8003',
      httpStatus: 200,
    });
    expect(sim.reader('01300002')!.signOnRequests).toBe(before + 1);
  });

  it('bare-status answers only the text 8003', async () => {
    sim.faults.add({ kind: 'bare-status', times: 1 });
    expect(await signOn('01300001')).toEqual({
      kind: 'plain',
      statusCode: '8003',
      httpStatus: 200,
    });
  });

  it('escaped-response writes every = of Response as a literal \\u003d', async () => {
    sim.faults.add({ kind: 'escaped-response', times: 1 });
    const answer = await signOn('01300001');
    expect(answer).toMatchObject({ kind: 'sealed', statusCode: '0000' });
    const raw = (answer as { raw: string }).raw;
    expect(raw).toContain('\\\\u003d');
    expect(raw).not.toContain('=');
  });

  it.each([
    ['unknown-values', '0000'],
    ['unknown-status', INTELLA_UNKNOWN_VALUES.statusCode],
  ] as const)('%s adds fields never seen before, answering %s', async (kind, statusCode) => {
    sim.faults.add({ kind, times: 1 });
    const answer = await signOn('01300001');
    expect(answer).toMatchObject({ kind: 'sealed', statusCode });
    const sealed = answer as { header: JsonObject; data: JsonObject };
    expect(sealed.header).toMatchObject(INTELLA_UNKNOWN_VALUES.header);
    expect(sealed.data).toMatchObject(INTELLA_UNKNOWN_VALUES.data);
  });

  it('corrupt-response sends an answer the client cannot decrypt', async () => {
    sim.faults.add({ kind: 'corrupt-response', times: 1 });
    await expect(signOn('01300001')).rejects.toMatchObject({ name: 'IntellaProtocolError' });
  });

  it('http-500 answers HTTP 500', async () => {
    sim.faults.add({ kind: 'http-500', times: 1 });
    expect(await signOn('01300001')).toMatchObject({ kind: 'http', httpStatus: 500 });
  });

  it('slow answers after its delay; no-answer never answers', async () => {
    sim.faults.add({ kind: 'slow', delayMs: 200, times: 1 });
    expect(await signOn('01300001')).toMatchObject({ statusCode: '0000' });
    sim.faults.add({ kind: 'no-answer', times: 1 });
    await expect(signOn('01300001', { timeoutMs: 300 })).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    expect(sim.counters().byAnswer['no-answer']).toBeGreaterThan(0);
  });

  it('scopes a fault by ServiceType and reader, and keeps an unlimited one', async () => {
    sim.faults.add({ kind: 'unavailable', serviceType: 'Settlement', deviceId: '01300005' });
    expect(await signOn('01300005')).toMatchObject({ statusCode: '0000' });
    expect(await call('Settlement', { DeviceId: '01300004' })).toMatchObject({
      statusCode: '0000',
    });
    for (let i = 0; i < 2; i++)
      expect(await call('Settlement', { DeviceId: '01300005' })).toMatchObject({
        statusCode: '9999',
      });
    expect(sim.faults.list()[0]).toMatchObject({ kind: 'unavailable', hits: 2 });
  });
});

describe('intella simulator: settlement enforcement', () => {
  it('answers 010117 to a reader that worked yesterday without settling, until it settles', async () => {
    sim.addReader('ACCOUNT001', 'SETTLE-1');
    expect(await signOn('SETTLE-1')).toMatchObject({ data: { ErrorCode: '000000' } });
    const day = taiwanDay(now);
    now += 24 * HOUR;
    expect(taiwanDay(now)).not.toBe(day);
    try {
      expect(await signOn('SETTLE-1')).toMatchObject({ data: { ErrorCode: '010117' } });
      expect(await call('Settlement', { DeviceId: 'SETTLE-1', Retry: '0' })).toMatchObject({
        data: { ErrorCode: '000000' },
      });
      expect(await signOn('SETTLE-1')).toMatchObject({ data: { ErrorCode: '000000' } });
    } finally {
      now -= 24 * HOUR;
    }
  });

  it('taiwanDay turns at 16:00 UTC', () => {
    expect(taiwanDay(Date.UTC(2024, 0, 1, 15, 59))).toBe('2024-01-01');
    expect(taiwanDay(Date.UTC(2024, 0, 1, 16, 0))).toBe('2024-01-02');
  });
});

describe('intella simulator: control API over HTTP', () => {
  const control = (method: string, route: string, body?: unknown) =>
    fetch(`${sim.controlUrl}${route}`, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('adds, lists and removes faults', async () => {
    const added = await control('POST', '/faults', {
      kind: 'unavailable',
      deviceId: '01300002',
      times: 2,
    });
    expect(added.status).toBe(201);
    const { id } = (await added.json()) as { id: number };
    expect(await (await control('GET', '/faults')).json()).toMatchObject([
      { id, kind: 'unavailable', times: 2 },
    ]);
    expect(await signOn('01300002')).toMatchObject({ statusCode: '9999' });
    expect((await control('DELETE', `/faults/${id}`)).status).toBe(200);
    expect((await control('DELETE', `/faults/${id}`)).status).toBe(404);
    expect(await signOn('01300002')).toMatchObject({ statusCode: '0000' });
  });

  it('refuses a bad fault with a message naming the field', async () => {
    const res = await control('POST', '/faults', { kind: 'meteor', times: 0 });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: string };
    expect(error).toContain('fault.kind');
    expect(error).toContain('fault.times');
    expect((await control('POST', '/faults', 'not json')).status).toBe(400);
  });

  it('serves counters, state, issued keys and the public key; resets counters', async () => {
    await signOn('01300001');
    const counters = (await (await control('GET', '/counters')).json()) as {
      requests: number;
      readers: unknown[];
    };
    expect(counters.requests).toBeGreaterThan(0);
    expect(counters.readers.length).toBeGreaterThan(5);
    const state = (await (await control('GET', '/state')).json()) as { merchants: unknown[] };
    expect(state.merchants).toHaveLength(2);
    const keys = (await (await control('GET', '/issued-keys')).json()) as Record<string, string[]>;
    expect(keys['01300001'].length).toBeGreaterThan(0);
    expect(await (await control('GET', '/public-key')).text()).toBe(sim.publicKeyPem);
    expect((await control('POST', '/counters/reset')).status).toBe(200);
    expect(sim.counters().requests).toBe(0);
    expect(sim.reader('01300001')!.signOnRequests).toBe(0);
  });

  it('adds and removes readers', async () => {
    expect(
      (await control('POST', '/readers', { mchId: 'ACCOUNT001', deviceId: 'NEW-1' })).status,
    ).toBe(201);
    expect(
      (await control('POST', '/readers', { mchId: 'ACCOUNT001', deviceId: 'NEW-1' })).status,
    ).toBe(400);
    expect((await control('POST', '/readers', { mchId: 'NOPE', deviceId: 'NEW-2' })).status).toBe(
      400,
    );
    expect(await signOn('NEW-1')).toMatchObject({ data: { ErrorCode: '000000' } });
    expect((await control('DELETE', '/readers/NEW-1')).status).toBe(200);
    expect(await signOn('NEW-1')).toMatchObject({ statusCode: '9998' });
  });

  it('answers unknown routes, wrong methods and oversized bodies with HTTP errors', async () => {
    expect((await control('GET', '/nothing')).status).toBe(404);
    expect((await fetch(sim.url)).status).toBe(405);
    expect((await fetch(sim.url.replace('/general', '/other'), { method: 'POST' })).status).toBe(
      404,
    );
    expect((await fetch(sim.url, { method: 'POST', body: 'x'.repeat(300 * 1024) })).status).toBe(
      413,
    );
  });

  it('answers arbitrary bodies with a JSON 8003 and keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string(), fc.json(), fc.uint8Array({ maxLength: 300 })),
        async (body) => {
          const res = await fetch(sim.url, { method: 'POST', body });
          expect(res.status).toBe(200);
          expect(((await res.json()) as { Header: { StatusCode: string } }).Header.StatusCode).toBe(
            '8003',
          );
        },
      ),
      { numRuns: 40 },
    );
    expect(await signOn('01300001')).toMatchObject({ statusCode: '0000' });
  });
});
