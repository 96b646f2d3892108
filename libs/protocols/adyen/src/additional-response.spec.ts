import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ADDITIONAL_RESPONSE_KEYS,
  formatAdditionalResponse,
  isTampered,
  parseAdditionalResponse,
  type AdyenAdditionalResponse,
} from './additional-response';
import { AdyenProtocolError } from './errors';
import { expectCode } from './test/fixtures';

const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64');

const EMPTY = { p2pe: {}, extra: {} };

describe('parseAdditionalResponse: terminal keys (seed step 1)', () => {
  const networkProfile = { ip: '192.168.1.20', mode: 'wifi' };
  const raw = [
    'batteryLevel=100%25',
    'unconfirmedBatchCount=3',
    'firmwareVersion=adyen_v1_120p4',
    `networkProfile=${encodeURIComponent(b64(networkProfile))}`,
    'merchantAccount=TillbusStores',
    'terminalId=V400m-324688179',
    'storeId=STORE%2042',
    'tamperStatus=ARS_TRIGGERED',
    'p2peFirmwareVersionNumber=1.2.3',
    'p2peOpenProtocolVersion=4.5',
    'p2peSREDVersion=6',
    'p2peVaultVersion=7.0',
    'p2peAppManagerVersion=8.1',
  ].join('&');

  it('decodes every documented key into a typed field', () => {
    expect(parseAdditionalResponse(raw)).toEqual({
      batteryLevel: 100,
      unconfirmedBatchCount: 3,
      firmwareVersion: 'adyen_v1_120p4',
      networkProfile: { text: JSON.stringify(networkProfile), json: networkProfile },
      merchantAccount: 'TillbusStores',
      terminalId: 'V400m-324688179',
      storeId: 'STORE 42',
      tamperStatus: 'ARS_TRIGGERED',
      p2pe: {
        p2peFirmwareVersionNumber: '1.2.3',
        p2peOpenProtocolVersion: '4.5',
        p2peSREDVersion: '6',
        p2peVaultVersion: '7.0',
        p2peAppManagerVersion: '8.1',
      },
      extra: {},
    });
  });

  it('flags ARS_TRIGGERED as tampered, and nothing else', () => {
    expect(isTampered(parseAdditionalResponse(raw))).toBe(true);
    expect(isTampered(parseAdditionalResponse('tamperStatus=OK'))).toBe(false);
    expect(isTampered(parseAdditionalResponse('batteryLevel=5%25'))).toBe(false);
  });

  it.each([
    ['batteryLevel=100%25', 100],
    ['batteryLevel=7%25', 7],
    ['batteryLevel=55', 55],
    ['batteryLevel=42.5%25', 42.5],
  ])('reads %s as %d percent', (pair, level) => {
    expect(parseAdditionalResponse(pair).batteryLevel).toBe(level);
  });

  it('keeps a network profile that is not JSON as text', () => {
    expect(parseAdditionalResponse(`networkProfile=${b64('ip=10.0.0.2')}`).networkProfile).toEqual({
      text: 'ip=10.0.0.2',
    });
  });

  it('keeps a literal + (Base64) rather than reading it as a space', () => {
    const profile = b64('>>>?'); // "Pj4+Pw==" contains +
    expect(profile).toContain('+');
    expect(parseAdditionalResponse(`networkProfile=${profile}`).networkProfile).toEqual({
      text: '>>>?',
    });
  });

  it('keeps unknown keys in extra, never dropping them', () => {
    expect(
      parseAdditionalResponse('refusalReason=xyz&message=CARD%20ABSENT&__proto__=1&a=&b=c%3Dd'),
    ).toEqual({
      ...EMPTY,
      extra: { refusalReason: 'xyz', message: 'CARD ABSENT', ['__proto__']: '1', a: '', b: 'c=d' },
    });
    expect(Object.keys(parseAdditionalResponse('__proto__=1').extra)).toEqual(['__proto__']);
  });

  it('reads an empty string as no fields and skips empty segments', () => {
    expect(parseAdditionalResponse('')).toEqual(EMPTY);
    expect(parseAdditionalResponse('a=1&&b=2&')).toEqual({ ...EMPTY, extra: { a: '1', b: '2' } });
  });

  it.each([
    ['novalue'],
    ['=value'],
    ['a=%E0%A4%A'],
    ['a=%zz'],
    ['a=1&a=2'],
    ['batteryLevel=full'],
    ['batteryLevel=-5%25'],
    ['batteryLevel=1e3'],
    ['unconfirmedBatchCount=-1'],
    ['unconfirmedBatchCount=2.5'],
    ['unconfirmedBatchCount='],
    ['networkProfile=not*base64'],
    [`networkProfile=${Buffer.from([0xff, 0xfe]).toString('base64')}`],
    ['sdkExpiry=tomorrow'],
    ['sdkExpiry=2025-02-30T00:00:00Z'],
    ['sdkExpiry=2025-01-01T24:00:00Z'],
    [`storeAndForwardStatus=${b64('[1,2]')}`],
    [`storeAndForwardStatus=${b64('not json')}`],
    ['attestationStatus=%%%'],
    [`attestationStatus=${b64('"Valid"')}`],
  ])('refuses %s with MALFORMED_ADDITIONAL_RESPONSE', (raw) => {
    expectCode(() => parseAdditionalResponse(raw), 'MALFORMED_ADDITIONAL_RESPONSE');
  });

  it('never echoes values into the error', () => {
    try {
      parseAdditionalResponse('merchantAccount=secret-ish&merchantAccount=secret-ish');
    } catch (error) {
      expect(
        JSON.stringify({ m: (error as Error).message, d: (error as AdyenProtocolError).details }),
      ).not.toContain('secret-ish');
    }
  });
});

describe('parseAdditionalResponse: Mobile SDK keys', () => {
  const storeAndForward = {
    available: true,
    active: false,
    expiresAt: '2025-06-01T10:00:00Z',
    forwardAttemptStatus: 'Connectivity failure',
  };
  const attestation = {
    status: 'Rejected',
    selfResolvableIssues: true,
    resolvableIssues: [
      { name: 'Developer options', message: 'Turn off developer options in Settings.' },
    ],
  };

  it('decodes sdkExpiry, storeAndForwardStatus and attestationStatus into typed objects, keeping raw', () => {
    const raw = [
      'sdkExpiry=2026-03-01T00:00:00Z',
      'terminalId=AC2ABBE8-EDD8-4E2B-AF45-8770FA2347DC.924',
      'unconfirmedBatchCount=2',
      `storeAndForwardStatus=${encodeURIComponent(b64(storeAndForward))}`,
      `attestationStatus=${encodeURIComponent(b64(attestation))}`,
    ].join('&');
    expect(parseAdditionalResponse(raw)).toEqual({
      ...EMPTY,
      sdkExpiry: new Date('2026-03-01T00:00:00.000Z'),
      terminalId: 'AC2ABBE8-EDD8-4E2B-AF45-8770FA2347DC.924',
      unconfirmedBatchCount: 2,
      storeAndForwardStatus: { ...storeAndForward, raw: storeAndForward },
      attestationStatus: { ...attestation, raw: attestation },
    });
  });

  it.each([
    ['2026-03-01', '2026-03-01T00:00:00.000Z'],
    ['2026-03-01T12:30', '2026-03-01T12:30:00.000Z'],
    ['2026-03-01 12:30:15', '2026-03-01T12:30:15.000Z'],
    ['2026-03-01T12:30:15.123456Z', '2026-03-01T12:30:15.123Z'],
    ['2026-03-01T12:30:15+02:00', '2026-03-01T10:30:15.000Z'],
    ['2026-03-01T12:30:15-0130', '2026-03-01T14:00:15.000Z'],
    ['0050-01-01T00:00:00Z', '0050-01-01T00:00:00.000Z'],
  ])('reads sdkExpiry %s as %s (no zone means UTC)', (value, iso) => {
    expect(
      parseAdditionalResponse(`sdkExpiry=${encodeURIComponent(value)}`).sdkExpiry?.toISOString(),
    ).toBe(iso);
  });

  it('keeps fields of an unexpected type in raw only, and unknown fields too', () => {
    const odd = {
      available: 'yes',
      expiresAt: 5,
      pendingCount: 4,
      forwardAttemptStatus: 'Success',
    };
    expect(
      parseAdditionalResponse(`storeAndForwardStatus=${b64(odd)}`).storeAndForwardStatus,
    ).toEqual({
      forwardAttemptStatus: 'Success',
      raw: odd,
    });
  });

  it('accepts resolvable issues as objects or strings, skipping other shapes', () => {
    const shapes = {
      status: 'Failed',
      resolvableIssues: [{ name: 'A', message: 7 }, 'B', 3, null, { other: 1 }],
    };
    expect(parseAdditionalResponse(`attestationStatus=${b64(shapes)}`).attestationStatus).toEqual({
      status: 'Failed',
      resolvableIssues: [{ name: 'A' }, { name: 'B' }, {}],
      raw: shapes,
    });
  });
});

const text = fc.string({ unit: 'grapheme', maxLength: 30 });
const knownOrP2pe = (key: string) =>
  (ADDITIONAL_RESPONSE_KEYS as readonly string[]).includes(key) || key.startsWith('p2pe');

const additionalResponse: fc.Arbitrary<AdyenAdditionalResponse> = fc.record(
  {
    batteryLevel: fc.integer({ min: 0, max: 10_000 }).map((n) => n / 100),
    unconfirmedBatchCount: fc.nat(),
    firmwareVersion: text,
    networkProfile: fc.oneof(
      fc
        .jsonValue({ maxDepth: 2 })
        .map((json) => ({ text: JSON.stringify(json), json: JSON.parse(JSON.stringify(json)) })),
      text.filter((t) => !isJson(t)).map((t) => ({ text: t })),
    ),
    merchantAccount: text,
    terminalId: text,
    storeId: text,
    tamperStatus: text,
    sdkExpiry: fc.date({
      min: new Date('0001-01-01T00:00:00Z'),
      max: new Date('9999-12-31T23:59:59Z'),
      noInvalidDate: true,
    }),
    storeAndForwardStatus: fc
      .record(
        {
          available: fc.boolean(),
          active: fc.boolean(),
          expiresAt: text,
          forwardAttemptStatus: fc.constantFrom('Success', 'Connectivity failure', 'Other failure'),
        },
        { requiredKeys: [] },
      )
      .map((typed) => ({ ...typed, raw: typed })),
    attestationStatus: fc
      .record(
        {
          status: fc.constantFrom('Valid', 'Rejected', 'Failed', 'Expired'),
          selfResolvableIssues: fc.boolean(),
          resolvableIssues: fc.array(fc.record({ name: text, message: text }), { maxLength: 3 }),
        },
        { requiredKeys: [] },
      )
      .map((typed) => ({ ...typed, raw: typed })),
    p2pe: fc.dictionary(
      text.map((t) => `p2pe${t}`),
      text,
      { maxKeys: 3 },
    ),
    extra: fc.dictionary(
      text.filter((k) => k !== '' && !knownOrP2pe(k)),
      text,
      { maxKeys: 4 },
    ),
  },
  { requiredKeys: ['p2pe', 'extra'] },
);

function isJson(t: string): boolean {
  try {
    JSON.parse(t);
    return true;
  } catch {
    return false;
  }
}

describe('formatAdditionalResponse', () => {
  it('writes percent-escaped pairs in the documented key order', () => {
    expect(
      formatAdditionalResponse({
        batteryLevel: 100,
        unconfirmedBatchCount: 0,
        storeId: 'STORE 42',
      }),
    ).toBe('batteryLevel=100%25&unconfirmedBatchCount=0&storeId=STORE%2042');
  });

  it('parse(format(x)) equals x', () => {
    fc.assert(
      fc.property(additionalResponse, (value) => {
        expect(parseAdditionalResponse(formatAdditionalResponse(value))).toEqual(value);
      }),
      { numRuns: 300 },
    );
  });

  it('writes the Base64 JSON blobs from raw, keeping fields the typed view does not know', () => {
    const raw = { status: 'Valid', vendorDetail: { score: 3 } };
    const parsed = parseAdditionalResponse(
      formatAdditionalResponse({ attestationStatus: { raw } }),
    );
    expect(parsed.attestationStatus).toEqual({ status: 'Valid', raw });
  });

  it.each([
    [{ batteryLevel: -1 }],
    [{ batteryLevel: Number.NaN }],
    [{ batteryLevel: 1e-7 }],
    [{ unconfirmedBatchCount: 1.5 }],
    [{ sdkExpiry: new Date(Number.NaN) }],
    [{ extra: { batteryLevel: '1' } }],
    [{ extra: { p2peVaultVersion: '1' } }],
    [{ extra: { '': '1' } }],
    [{ p2pe: { vault: '1' } }],
    [{ firmwareVersion: '\uD800' }],
  ])('refuses %j with INVALID_ARGUMENT', (input) => {
    expectCode(() => formatAdditionalResponse(input), 'INVALID_ARGUMENT');
  });
});

describe('parseAdditionalResponse fuzz', () => {
  const onlyTypedErrors = (input: unknown) => {
    try {
      parseAdditionalResponse(input as string);
    } catch (error) {
      expect(error).toBeInstanceOf(AdyenProtocolError);
    }
  };

  it('arbitrary strings return or throw AdyenProtocolError', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), onlyTypedErrors), { numRuns: 500 });
  });

  it('arbitrary values for typed keys return or throw AdyenProtocolError', () => {
    const pair = fc.tuple(
      fc.constantFrom(...ADDITIONAL_RESPONSE_KEYS, 'p2peX', 'other'),
      fc.oneof(
        fc.string({ unit: 'binary' }),
        fc.jsonValue().map(b64),
        fc.uint8Array().map((u) => Buffer.from(u).toString('base64')),
      ),
    );
    fc.assert(
      fc.property(fc.array(pair, { maxLength: 6 }), (pairs) =>
        onlyTypedErrors(
          pairs
            .map(([k, v]) => `${k}=${encodeURIComponent(v.replace(/[\uD800-\uDFFF]/g, ''))}`)
            .join('&'),
        ),
      ),
      { numRuns: 500 },
    );
  });

  it('arbitrary bytes and values return or throw AdyenProtocolError', () => {
    fc.assert(
      fc.property(fc.uint8Array(), (bytes) =>
        onlyTypedErrors(Buffer.from(bytes).toString('latin1')),
      ),
    );
    fc.assert(fc.property(fc.anything(), onlyTypedErrors));
  });
});
