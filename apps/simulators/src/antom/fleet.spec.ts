import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ANTOM_PATHS,
  parseDiagnosisResponse,
  readDiagnosisAnswer,
  signRequest,
  verifyResponse,
} from '@tillbus/protocols-antom';
import { ANTOM_DIAGNOSIS_CODES, ANTOM_DIAGNOSIS_CODE_NAMES } from '@tillbus/result-codes';
import { FaultError, parseAntomFaults } from './faults';
import { startAntomFleet, type AntomFleet } from './fleet';

let fleet: AntomFleet;
const SN = 'ANTOMSIM000001';

beforeAll(async () => {
  fleet = await startAntomFleet({ terminals: 3, recordRequests: true });
});
afterAll(() => fleet.close());
beforeEach(() => fleet.faults.clearAll());

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

async function diagnose(
  options: {
    serial?: string | null;
    path?: string;
    method?: string;
    body?: string;
    key?: string;
    extraHeaders?: Record<string, string>;
    timeoutMs?: number;
  } = {},
): Promise<Answer> {
  const path = options.path ?? ANTOM_PATHS.DIAGNOSIS;
  const body = options.body ?? '{}';
  const method = options.method ?? 'POST';
  const serial = options.serial === undefined ? SN : options.serial;
  const signed = signRequest({
    method,
    path,
    clientId: serial ?? 'nobody',
    body,
    privateKey: options.key ?? fleet.keys.posPrivateKey!,
  });
  const headers: Record<string, string> = { ...signed, ...options.extraHeaders };
  if (serial === null) delete (headers as Record<string, string | undefined>)['Client-Id'];
  const response = await fetch(`${fleet.url}${path}`, {
    method,
    headers,
    body: method === 'GET' || method === 'HEAD' ? undefined : body,
    signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

async function verified(
  answer: Answer,
  serial = SN,
  path: string = ANTOM_PATHS.DIAGNOSIS,
  method = 'POST',
) {
  return verifyResponse({
    method,
    path,
    headers: answer.headers,
    rawBody: answer.text,
    publicKey: fleet.keys.terminalPublicKey,
    now: Date.now(),
    clientId: serial,
  });
}

const otherKey = () =>
  generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
    type: 'pkcs8',
    format: 'pem',
  }) as string;

describe('every code of the diagnosis table is reachable', () => {
  const cases: Record<string, () => Promise<Answer>> = {
    SUCCESS: () => diagnose(),
    PROCESS_FAIL: () => diagnose({ body: '{"unexpected":1}' }),
    INVALID_API: () => diagnose({ path: '/v2/device/diagnosys' }),
    CLIENT_INVALID: () => diagnose({ serial: 'UNKNOWN01' }),
    INVALID_SIGNATURE: () => diagnose({ key: otherKey() }),
    INVALID_ENCRPT_DATA: () =>
      diagnose({ extraHeaders: { Encrypt: 'algorithm=RSA_AES,keyVersion=1,symmetricKey=x' } }),
    METHOD_NOT_SUPPORTED: () => diagnose({ method: 'PUT' }),
    UNKNOWN_EXCEPTION: async () => {
      fleet.faults.set(SN, { resultCode: 'UNKNOWN_EXCEPTION' });
      return diagnose();
    },
  };

  it('covers the whole table', () => {
    expect(Object.keys(cases).sort()).toEqual([...ANTOM_DIAGNOSIS_CODE_NAMES].sort());
  });

  it.each(Object.keys(cases))('%s, in a signed answer', async (code) => {
    const answer = await cases[code]();
    const path = code === 'INVALID_API' ? '/v2/device/diagnosys' : ANTOM_PATHS.DIAGNOSIS;
    const serial = code === 'CLIENT_INVALID' ? 'UNKNOWN01' : SN;
    const method = code === 'METHOD_NOT_SUPPORTED' ? 'PUT' : 'POST';
    expect(await verified(answer, serial, path, method)).toMatchObject({ ok: true });
    const parsed = parseDiagnosisResponse(answer.text, { unknownFields: 'forbid' });
    const row = ANTOM_DIAGNOSIS_CODES[code as keyof typeof ANTOM_DIAGNOSIS_CODES];
    expect(parsed.result).toEqual({
      resultStatus: row.status,
      resultCode: code,
      resultMessage: row.message,
    });
  });

  it.each(ANTOM_DIAGNOSIS_CODE_NAMES)('the resultCode fault answers %s', async (code) => {
    fleet.faults.set(SN, { resultCode: code });
    const parsed = parseDiagnosisResponse((await diagnose()).text);
    expect(parsed.result.resultCode).toBe(code);
  });

  it('refuses a request without Client-Id as CLIENT_INVALID', async () => {
    const answer = await diagnose({ serial: null });
    expect(JSON.parse(answer.text).result.resultCode).toBe('CLIENT_INVALID');
  });

  it('refuses a replayed request as INVALID_SIGNATURE', async () => {
    const headers = signRequest({
      path: ANTOM_PATHS.DIAGNOSIS,
      clientId: SN,
      body: '{}',
      privateKey: fleet.keys.posPrivateKey!,
    });
    const send = () =>
      fetch(`${fleet.url}${ANTOM_PATHS.DIAGNOSIS}`, { method: 'POST', headers, body: '{}' }).then(
        (r) => r.json() as Promise<{ result: { resultCode: string } }>,
      );
    expect((await send()).result.resultCode).toBe('SUCCESS');
    expect((await send()).result.resultCode).toBe('INVALID_SIGNATURE');
  });
});

describe('terminal faults', () => {
  it.each([
    [{}, { networkStatus: 'Y', printerStatus: 'Y', globalStatus: 'Y' }],
    [{ networkDown: true }, { networkStatus: 'N', printerStatus: 'Y', globalStatus: 'Y' }],
    [{ noPaper: true }, { networkStatus: 'Y', printerStatus: 'N', globalStatus: 'Y' }],
    [{ notReady: true }, { networkStatus: 'Y', printerStatus: 'Y', globalStatus: 'N' }],
  ])('%j answers %j', async (faults, flags) => {
    fleet.faults.set(SN, faults);
    const answer = await diagnose();
    expect(await verified(answer)).toMatchObject({ ok: true });
    expect(parseDiagnosisResponse(answer.text)).toMatchObject(flags);
  });

  it('unknownValues sends a flag value and fields the schema does not know, still signed', async () => {
    fleet.faults.set(SN, { unknownValues: true });
    const answer = await diagnose();
    expect(await verified(answer)).toMatchObject({ ok: true });
    const read = readDiagnosisAnswer(JSON.parse(answer.text));
    expect(read.unrecognised).toEqual([{ field: 'printerStatus', value: 'LOW_PAPER' }]);
    expect([...read.unknownFields].sort()).toEqual([
      'batteryStatus',
      'deviceModel',
      'result.traceId',
    ]);
  });

  it('clockSkewMs signs the answer with a Response-Time that far off', async () => {
    fleet.faults.set(SN, { clockSkewMs: -600_000 });
    const verdict = await verified(await diagnose());
    expect(verdict).toMatchObject({ ok: true, outsideWindow: true });
    expect(verdict.ok && Math.abs(verdict.skewMs + 600_000)).toBeLessThan(5_000);
    expect(() => parseAntomFaults({ clockSkewMs: 86_400_001 })).toThrow(FaultError);
    expect(() => parseAntomFaults({ clockSkewMs: 1.5 })).toThrow(FaultError);
  });

  it('badSignature signs with a key the POS does not know', async () => {
    fleet.faults.set(SN, { badSignature: true });
    expect(await verified(await diagnose())).toMatchObject({
      ok: false,
      reason: 'SIGNATURE_MISMATCH',
    });
  });

  it('unsigned leaves the signature out', async () => {
    fleet.faults.set(SN, { unsigned: true });
    expect(await verified(await diagnose())).toMatchObject({
      ok: false,
      reason: 'MISSING_RESPONSE_TIME',
    });
  });

  it.each(['garbage', 'truncated', 'wrong-types', 'empty'] as const)(
    'malformed %s is signed but does not parse',
    async (malformed) => {
      fleet.faults.set(SN, { malformed });
      const answer = await diagnose();
      expect(await verified(answer)).toMatchObject({ ok: true });
      expect(() => parseDiagnosisResponse(answer.text)).toThrow();
    },
  );

  it('noAnswer holds the request open; slowMs delays it', async () => {
    fleet.faults.set(SN, { noAnswer: true });
    await expect(diagnose({ timeoutMs: 300 })).rejects.toThrow();
    fleet.faults.set(SN, { slowMs: 150 });
    const started = Date.now();
    await diagnose();
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('counts and records the diagnoses each terminal receives', async () => {
    fleet.counters.reset();
    await diagnose();
    await diagnose({ serial: 'ANTOMSIM000002' });
    await diagnose({ serial: 'UNKNOWN01' });
    expect(fleet.counters.total()).toBe(2);
    expect(fleet.counters.of(SN)).toBe(1);
    expect(fleet.counters.records().map((r) => r.serial)).toEqual([SN, 'ANTOMSIM000002']);
  });
});

describe('control endpoint', () => {
  const control = (method: string, path: string, body?: unknown) =>
    fetch(`${fleet.url}/_sim/${path}`, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));

  it('sets, patches, reads and clears faults at run time', async () => {
    expect(await control('PUT', `terminals/${SN}/faults`, { networkDown: true })).toEqual({
      status: 200,
      body: { networkDown: true },
    });
    await control('PATCH', `terminals/${SN}/faults`, { noPaper: true });
    expect((await control('GET', `terminals/${SN}/faults`)).body).toEqual({
      networkDown: true,
      noPaper: true,
    });
    expect(parseDiagnosisResponse((await diagnose()).text)).toMatchObject({
      networkStatus: 'N',
      printerStatus: 'N',
    });
    await control('DELETE', `terminals/${SN}/faults`);
    expect((await control('GET', `terminals/${SN}/faults`)).body).toEqual({});
  });

  it.each([
    [{ tampered: true }, /faults.tampered: an Antom diagnosis reports no tamper status/],
    [{ networkDown: 'yes' }, /faults.networkDown must be true or false/],
    [{ resultCode: 'NOPE' }, /faults.resultCode must be one of SUCCESS/],
    [{ slowMs: -1 }, /faults.slowMs must be an integer/],
    [{ exploding: true }, /faults.exploding is not an Antom fault/],
  ])('refuses %j with a message naming the field', async (faults, message) => {
    const answer = await control('PUT', `terminals/${SN}/faults`, faults);
    expect(answer.status).toBe(400);
    expect(String(answer.body.error)).toMatch(message);
  });

  it('refuses an unknown terminal and an unknown route', async () => {
    expect((await control('PUT', 'terminals/NOPE/faults', {})).status).toBe(400);
    expect((await control('GET', 'nothing')).status).toBe(404);
  });

  it('reports counters and the fleet', async () => {
    const { body } = await control('GET', 'terminals');
    expect((body.terminals as unknown[]).length).toBe(3);
    expect((await control('GET', 'counters')).body).toHaveProperty('total');
  });
});

describe('parseAntomFaults', () => {
  it('never throws anything but a FaultError, whatever it is given', () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        try {
          parseAntomFaults(input);
        } catch (error) {
          expect(error).toBeInstanceOf(FaultError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
