import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EASYCARD_METHOD,
  buildPlainRequest,
  buildPlainResponse,
  classifyPlainResponse,
  parsePlainRequest,
  parsePlainResponse,
} from './envelope';
import { IntellaProtocolError, type IntellaProtocolErrorCode } from './errors';
import { tradeKeyFromPassword } from './trade-key';

const TRADE_KEY = tradeKeyFromPassword('password');
const CREATED = new Date('2017-08-30T11:20:40Z');

// the seed's API example, verbatim apart from the elided TradeKey and NewAESKey
const SEED_RESPONSE_TEXT = `{
  "Header": {
    "StatusCode": "0000",
    "StatusDesc": "STATUS_SUCCESS",
    "Method": "31800",
    "ServiceType": "SignOn",
    "MchId": "S2PT00391",
    "ResponseTime": "20170830192043"
  },
  "Data": {
    "DeviceID": "0220131329",
    "NewDeviceID": "0830000012341234",
    "TXNResult": "Success",
    "Retry": "0",
    "ErrorCode": "000000",
    "DongleDeviceID": "0C100DE0A57E",
    "NewAESKey": "2fb7aa4786"
  }
}`;

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

describe('buildPlainRequest', () => {
  it('builds the seed SignOn request, Data as JSON text', () => {
    const request = buildPlainRequest({
      serviceType: 'SignOn',
      mchId: 'ACCOUNT001',
      tradeKey: TRADE_KEY,
      createTime: CREATED,
      data: { DeviceId: '12341234', Retry: '0' },
    });
    expect(JSON.parse(JSON.stringify(request))).toEqual({
      Header: {
        Method: '31800',
        ServiceType: 'SignOn',
        MchId: 'ACCOUNT001',
        TradeKey: TRADE_KEY,
        CreateTime: '20170830192040',
      },
      Data: '{"DeviceId":"12341234","Retry":"0"}',
    });
    expect(EASYCARD_METHOD).toBe('31800');
  });

  it.each([
    ['an upper-case TradeKey', { tradeKey: TRADE_KEY.toUpperCase() }],
    ['a raw password as TradeKey', { tradeKey: 'password' }],
    ['an empty MchId', { mchId: '' }],
    ['a bad Method', { method: '318' }],
    ['SignOn Data without Retry', { data: { DeviceId: '12341234' } }],
    ['SignOn Data with a numeric Retry', { data: { DeviceId: '12341234', Retry: 0 } }],
    ['SignOn Data with an unknown field', { data: { DeviceId: '1', Retry: '0', Extra: 'x' } }],
    ['DeviceQuery for one reader', { serviceType: 'DeviceQuery', data: { DeviceId: '12341234' } }],
  ])('refuses %s with SCHEMA_INVALID', (_label, override) => {
    const input = {
      serviceType: 'SignOn',
      mchId: 'ACCOUNT001',
      tradeKey: TRADE_KEY,
      createTime: CREATED,
      data: { DeviceId: '12341234', Retry: '0' } as Record<string, unknown>,
      ...override,
    };
    expect(thrownCode(() => buildPlainRequest(input))).toBe('SCHEMA_INVALID');
  });

  it('never puts the TradeKey in an error', () => {
    try {
      buildPlainRequest({
        serviceType: 'SignOn',
        mchId: 'M',
        tradeKey: TRADE_KEY.toUpperCase(),
        createTime: CREATED,
        data: {},
      });
      expect.unreachable();
    } catch (error) {
      expect(
        JSON.stringify({ m: (error as Error).message, d: (error as IntellaProtocolError).details }),
      ).not.toMatch(/5e884898/i);
    }
  });
});

describe('parsePlainRequest (server side)', () => {
  it('round-trips what buildPlainRequest makes', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('SignOn', 'Settlement', 'BalanceQuery'),
        fc.string({ minLength: 1 }),
        fc.string({ minLength: 1 }),
        fc.stringMatching(/^\d{1,3}$/),
        fc.date({ min: new Date('2000-01-01'), max: new Date('2099-01-01'), noInvalidDate: true }),
        (serviceType, mchId, deviceId, retry, createTime) => {
          const data = { DeviceId: deviceId, Retry: retry };
          const request = buildPlainRequest({
            serviceType,
            mchId,
            tradeKey: TRADE_KEY,
            createTime,
            data,
          });
          const parsed = parsePlainRequest(JSON.stringify(request));
          expect({ ...parsed.header }).toEqual({ ...request.Header });
          expect(parsed.data).toEqual(data);
        },
      ),
    );
  });

  it.each([
    ['Data as an object', { Data: { DeviceId: '1' } }, 'SCHEMA_INVALID'],
    ['Data that is not JSON', { Data: '{DeviceId' }, 'MALFORMED_JSON'],
    ['Data that is a JSON array', { Data: '[]' }, 'MALFORMED_JSON'],
    ['an extra top-level field', { Extra: 1 }, 'SCHEMA_INVALID'],
    ['a 13-digit CreateTime', { Header: { CreateTime: '2017083019204' } }, 'SCHEMA_INVALID'],
    ['an impossible CreateTime', { Header: { CreateTime: '20170230192040' } }, 'INVALID_TIME'],
    ['a missing MchId', { Header: { MchId: undefined } }, 'SCHEMA_INVALID'],
    ['an unknown Header field', { Header: { Extra: 'x' } }, 'SCHEMA_INVALID'],
  ])('refuses %s', (_label, override, code) => {
    const base = {
      Header: {
        Method: '31800',
        ServiceType: 'SignOn',
        MchId: 'A',
        TradeKey: TRADE_KEY,
        CreateTime: '20170830192040',
      },
      Data: '{"DeviceId":"12341234","Retry":"0"}',
    };
    const body = {
      ...base,
      ...override,
      Header: { ...base.Header, ...(override as { Header?: object }).Header },
    };
    expect(thrownCode(() => parsePlainRequest(body))).toBe(code);
  });

  it('accepts any TradeKey form so the server can answer 7105 itself', () => {
    const parsed = parsePlainRequest({
      Header: {
        Method: '31800',
        ServiceType: 'SignOn',
        MchId: 'A',
        TradeKey: 'NOT-HASHED',
        CreateTime: '20170830192040',
      },
      Data: '{}',
    });
    expect(parsed.header.TradeKey).toBe('NOT-HASHED');
  });
});

describe('parsePlainResponse (client side)', () => {
  it('reads the seed response, Data as an object', () => {
    const parsed = parsePlainResponse(SEED_RESPONSE_TEXT);
    expect(parsed.header.StatusCode).toBe('0000');
    expect(parsed.header.ResponseTime).toBe('20170830192043');
    expect(parsed.data).toEqual(JSON.parse(SEED_RESPONSE_TEXT).Data);
    expect(classifyPlainResponse(parsed)).toEqual({ outcome: 'SUCCESS', reason: 'OK' });
  });

  it('reads Data given as JSON text', () => {
    const seed = JSON.parse(SEED_RESPONSE_TEXT);
    const parsed = parsePlainResponse({ ...seed, Data: JSON.stringify(seed.Data) });
    expect(parsed.data).toEqual(seed.Data);
  });

  it.each([[undefined], [null], ['']])('Data %j means no Data', (data) => {
    const parsed = parsePlainResponse({ Header: { StatusCode: '9999' }, Data: data });
    expect(parsed.data).toBeNull();
    expect(classifyPlainResponse(parsed)).toEqual({ outcome: 'RETRYABLE', reason: 'UNAVAILABLE' });
  });

  it('keeps Header fields the seed does not list', () => {
    const parsed = parsePlainResponse({
      Header: { StatusCode: '0000', Extra: 'kept' },
      Data: { ErrorCode: '000125' },
    });
    expect((parsed.header as unknown as Record<string, unknown>).Extra).toBe('kept');
    expect(classifyPlainResponse(parsed)).toEqual({
      outcome: 'RETRYABLE',
      reason: 'RETRY_REQUIRED',
    });
  });

  it('0000 without an ErrorCode is not success', () => {
    expect(
      classifyPlainResponse(parsePlainResponse({ Header: { StatusCode: '0000' }, Data: {} })),
    ).toEqual({
      outcome: 'UNKNOWN',
      reason: 'ERROR_CODE_MISSING',
    });
    expect(
      classifyPlainResponse(
        parsePlainResponse({ Header: { StatusCode: '0000' }, Data: { ErrorCode: 0 } }),
      ),
    ).toEqual({ outcome: 'UNKNOWN', reason: 'ERROR_CODE_MISSING' });
  });

  it.each([
    ['no Header', { Data: {} }, 'SCHEMA_INVALID'],
    ['a 3-digit StatusCode', { Header: { StatusCode: '000' } }, 'SCHEMA_INVALID'],
    ['a numeric StatusCode', { Header: { StatusCode: 0 } }, 'SCHEMA_INVALID'],
    ['Data as a number', { Header: { StatusCode: '0000' }, Data: 5 }, 'SCHEMA_INVALID'],
    ['Data text that is not JSON', { Header: { StatusCode: '0000' }, Data: '{' }, 'MALFORMED_JSON'],
    [
      'an impossible ResponseTime',
      { Header: { StatusCode: '0000', ResponseTime: '20171330192043' } },
      'INVALID_TIME',
    ],
    ['text that is not JSON', 'nope', 'MALFORMED_JSON'],
  ])('refuses %s', (_label, body, code) => {
    expect(thrownCode(() => parsePlainResponse(body))).toBe(code);
  });
});

describe('buildPlainResponse (server side)', () => {
  it('round-trips through parsePlainResponse, Data as object or text', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^\d{4}$/),
        fc.option(fc.dictionary(fc.string(), fc.jsonValue()), { nil: null }),
        fc.constantFrom('object' as const, 'string' as const),
        (statusCode, data, dataAs) => {
          const built = buildPlainResponse({
            statusCode,
            statusDesc: 'desc',
            method: '31800',
            serviceType: 'SignOn',
            mchId: 'M',
            responseTime: CREATED,
            data,
            dataAs,
          });
          const parsed = parsePlainResponse(JSON.stringify(built));
          expect(parsed.header.StatusCode).toBe(statusCode);
          expect(parsed.header.ResponseTime).toBe('20170830192040');
          expect(parsed.data).toEqual(data === null ? null : JSON.parse(JSON.stringify(data)));
        },
      ),
    );
  });

  it('refuses a StatusCode that is not four digits', () => {
    expect(thrownCode(() => buildPlainResponse({ statusCode: 'OK', responseTime: CREATED }))).toBe(
      'SCHEMA_INVALID',
    );
  });
});

describe('fuzz: plain parsers return or throw IntellaProtocolError', () => {
  const inputs = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.string(),
    fc.json(),
    fc.anything(),
    fc.record({ Header: fc.anything(), Data: fc.anything() }),
    fc.record({
      Header: fc.record({ StatusCode: fc.stringMatching(/^\d{4}$/), ResponseTime: fc.string() }),
      Data: fc.oneof(fc.json(), fc.string(), fc.anything()),
    }),
  );
  it.each([
    ['parsePlainRequest', parsePlainRequest],
    ['parsePlainResponse', parsePlainResponse],
  ])('%s', (_name, parse) => {
    fc.assert(
      fc.property(inputs, (input) => {
        expect(thrownCode(() => parse(input))).not.toBe('FOREIGN_ERROR');
      }),
      { numRuns: 500 },
    );
  });
});
