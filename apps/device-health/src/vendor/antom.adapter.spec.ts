import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ANTOM_PATHS, signResponse } from '@tillbus/protocols-antom';
import { DIAGNOSIS_OUTCOMES, HEALTH_REASON_NAMES } from '@tillbus/result-codes';
import { diagnosisUrl, readAntomAnswer } from './antom.adapter';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const NOW = Date.UTC(2026, 3, 1);
const context = {
  path: ANTOM_PATHS.DIAGNOSIS,
  clientId: 'SN1',
  publicKey,
  publicKeyRef: 'env:K',
  now: NOW,
  maxSkewMs: 300_000,
};

/** A correctly signed answer carrying any body: only the content can be wrong. */
function signed(body: Buffer | string, status = 200, responseTime: number | string = NOW) {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const headers = signResponse({
    path: ANTOM_PATHS.DIAGNOSIS,
    clientId: 'SN1',
    body: bytes,
    privateKey,
    responseTime,
  });
  return { status, headers, body: bytes };
}

describe('readAntomAnswer', () => {
  it('reads a signed healthy answer', async () => {
    const body = JSON.stringify({
      result: { resultStatus: 'S', resultCode: 'SUCCESS' },
      networkStatus: 'Y',
      printerStatus: 'N',
      globalStatus: 'Y',
    });
    expect(await readAntomAnswer(signed(body), context)).toMatchObject({
      outcome: 'ok',
      reasons: ['PRINTER_FAULT'],
    });
  });

  const HEALTHY = JSON.stringify({
    result: { resultStatus: 'S', resultCode: 'SUCCESS', resultMessage: 'success' },
    networkStatus: 'Y',
    printerStatus: 'Y',
    globalStatus: 'Y',
  });

  it.each([
    ['10 minutes behind', NOW - 600_000],
    ['10 minutes ahead (Python SDK time form)', '2026-04-01T00:10:00+00:00'],
  ])(
    'uses a correctly signed answer %s and reports the clock skew',
    async (_what, responseTime) => {
      const findings = await readAntomAnswer(signed(HEALTHY, 200, responseTime), context);
      const skew = typeof responseTime === 'number' ? -600_000 : 600_000;
      expect(findings.outcome).toBe('ok');
      expect(findings.reasons).toEqual(['CLOCK_SKEW']);
      expect(findings.clockSkewMs).toBe(skew);
      expect(findings.details).toMatchObject({ clockSkewMs: skew });
      expect(findings.details.message).toMatch(/clock/);
    },
  );

  it('measures the skew of an answer within the window without a reason', async () => {
    const findings = await readAntomAnswer(signed(HEALTHY, 200, NOW + 4_000), context);
    expect(findings).toMatchObject({ outcome: 'ok', reasons: [], clockSkewMs: 4_000 });
  });

  it('a skewed answer still reports what it says', async () => {
    const body = JSON.stringify({
      result: { resultStatus: 'S', resultCode: 'SUCCESS' },
      networkStatus: 'N',
      printerStatus: 'Y',
      globalStatus: 'Y',
    });
    const findings = await readAntomAnswer(signed(body, 200, NOW - 3_600_000), context);
    expect(findings.reasons).toEqual(['NETWORK_DOWN', 'CLOCK_SKEW']);
  });

  it('keeps using an answer with an unknown flag value and extra fields, reporting the value', async () => {
    const body = JSON.stringify({
      result: { resultStatus: 'S', resultCode: 'SUCCESS', resultMessage: 'success', traceId: 't1' },
      networkStatus: 'N',
      printerStatus: 'LOW_PAPER',
      globalStatus: 'Y',
      batteryStatus: 'Y',
    });
    const findings = await readAntomAnswer(signed(body), context);
    expect(findings.outcome).toBe('ok');
    expect(findings.reasons).toEqual(['NETWORK_DOWN', 'UNRECOGNISED_VALUE']);
    expect(findings.details.unrecognised).toEqual([{ field: 'printerStatus', value: 'LOW_PAPER' }]);
    expect(findings.raw).toMatchObject({
      printerStatus: 'LOW_PAPER',
      batteryStatus: 'Y',
      result: { traceId: 't1' },
    });
  });

  it.each([
    [
      'an unsigned JSON answer',
      { status: 200, headers: {}, body: Buffer.from('{}') },
      'auth_error',
    ],
    [
      'HTML from a proxy',
      { status: 502, headers: {}, body: Buffer.from('<html>') },
      'vendor_error',
    ],
    ['bytes that are not UTF-8', signed(Buffer.from([0xff, 0xfe, 0x7b])), 'malformed'],
    ['truncated JSON', signed('{"result":{"resultSt'), 'malformed'],
    ['wrong types', signed('{"result":{"resultStatus":1},"networkStatus":true}'), 'malformed'],
    ['a JSON array', signed('[]'), 'malformed'],
  ] as const)('turns %s into a typed outcome', async (_what, answer, outcome) => {
    const findings = await readAntomAnswer(answer, context);
    expect(findings.outcome).toBe(outcome);
    expect(findings.reasons).toHaveLength(1);
  });

  it('never throws for any signed body, and always names a known reason', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.json(),
          fc.string(),
          fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
          fc
            .record({
              result: fc.record({
                resultStatus: fc.constantFrom('S', 'F', 'U', 'X', 1),
                resultCode: fc.oneof(
                  fc.constantFrom('SUCCESS', 'PROCESS_FAIL', 'NEW'),
                  fc.string(),
                ),
              }),
              networkStatus: fc.constantFrom('Y', 'N', 'y', true),
              printerStatus: fc.constantFrom('Y', 'N'),
              globalStatus: fc.constantFrom('Y', 'N', undefined),
            })
            .map((o) => JSON.stringify(o)),
        ),
        async (body) => {
          const findings = await readAntomAnswer(signed(body as string | Buffer), context);
          expect(DIAGNOSIS_OUTCOMES).toContain(findings.outcome);
          for (const reason of findings.reasons) expect(HEALTH_REASON_NAMES).toContain(reason);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('diagnosisUrl', () => {
  it.each([
    ['http://10.0.0.5:8080', 'http://10.0.0.5:8080/v2/device/diagnosis'],
    ['http://10.0.0.5:8080/', 'http://10.0.0.5:8080/v2/device/diagnosis'],
    ['https://t.example/terminal/', 'https://t.example/terminal/v2/device/diagnosis'],
  ])('%s -> %s', (base, url) => {
    expect(diagnosisUrl(base).toString()).toBe(url);
  });
});
