import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IntellaProtocolError, type IntellaProtocolErrorCode } from './errors';
import {
  DEVICE_QUERY_DEVICE_ID,
  EASYCARD_DATA_SCHEMAS,
  checkEasyCardRequestData,
  parseEasyCardRequestData,
  parseEasyCardResponseData,
  readDeviceList,
} from './schemas';

const SEED_SIGN_ON_RESPONSE = {
  DeviceID: '0220131329',
  NewDeviceID: '0830000012341234',
  TXNResult: 'Success',
  Retry: '0',
  ErrorCode: '000000',
  DongleDeviceID: '0C100DE0A57E',
  NewAESKey: '2fb7aa4786',
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

describe('SignOn', () => {
  it('accepts the seed request Data', () => {
    expect({ ...parseEasyCardRequestData('SignOn', { DeviceId: '12341234', Retry: '0' }) }).toEqual(
      {
        DeviceId: '12341234',
        Retry: '0',
      },
    );
  });

  it('accepts the seed response Data with every field named as in the seed', () => {
    const data = parseEasyCardResponseData('SignOn', SEED_SIGN_ON_RESPONSE);
    expect({ ...data }).toEqual(SEED_SIGN_ON_RESPONSE);
    expect(data.NewDeviceID).toBe('0830000012341234');
    expect(data.DongleDeviceID).toBe('0C100DE0A57E');
  });

  it.each([
    ['no ErrorCode', { ...SEED_SIGN_ON_RESPONSE, ErrorCode: undefined }],
    ['a numeric ErrorCode', { ...SEED_SIGN_ON_RESPONSE, ErrorCode: 0 }],
    ['a non-numeric Retry', { ...SEED_SIGN_ON_RESPONSE, Retry: 'x' }],
    ['a numeric NewDeviceID', { ...SEED_SIGN_ON_RESPONSE, NewDeviceID: 830000012341234 }],
  ])('refuses response Data with %s', (_label, data) => {
    expect(thrownCode(() => parseEasyCardResponseData('SignOn', data))).toBe('SCHEMA_INVALID');
  });

  it('keeps response fields the seed does not list', () => {
    const data = parseEasyCardResponseData('SignOn', { ErrorCode: '000000', Later: 'x' });
    expect((data as unknown as Record<string, unknown>).Later).toBe('x');
  });

  it('refuses request Data with an unknown field (the seed lists all of them)', () => {
    expect(
      thrownCode(() => parseEasyCardRequestData('SignOn', { DeviceId: '1', Retry: '0', X: 1 })),
    ).toBe('SCHEMA_INVALID');
  });

  it('names only fields in a schema error, never values', () => {
    try {
      parseEasyCardResponseData('SignOn', { ErrorCode: 1, NewAESKey: 99887766 });
      expect.unreachable();
    } catch (error) {
      const e = error as IntellaProtocolError;
      expect(e.details).toEqual({ fields: ['Data.ErrorCode', 'Data.NewAESKey'] });
      expect(e.message).not.toContain('99887766');
    }
  });
});

describe('DeviceQuery', () => {
  it('asks with DeviceId 00000000', () => {
    expect(DEVICE_QUERY_DEVICE_ID).toBe('00000000');
    expect(parseEasyCardRequestData('DeviceQuery', { DeviceId: '00000000' }).DeviceId).toBe(
      '00000000',
    );
    expect(
      thrownCode(() => parseEasyCardRequestData('DeviceQuery', { DeviceId: '12341234' })),
    ).toBe('SCHEMA_INVALID');
  });

  it('reads the reader list from the configured field, as an array or as JSON text', () => {
    const readers = ['01301234', { DeviceId: '01305678' }];
    expect(readDeviceList({ Readers: readers }, 'Readers')).toEqual(readers);
    expect(readDeviceList({ Readers: JSON.stringify(readers) }, 'Readers')).toEqual(readers);
    expect(readDeviceList({ Readers: [] }, 'Readers')).toEqual([]);
  });

  it.each([
    ['absent', {}, 'SCHEMA_INVALID'],
    ['an object', { Readers: {} }, 'SCHEMA_INVALID'],
    ['bad JSON text', { Readers: '[' }, 'MALFORMED_JSON'],
    ['a list of numbers', { Readers: [1] }, 'SCHEMA_INVALID'],
    ['inherited', Object.create({ Readers: [] }) as Record<string, unknown>, 'SCHEMA_INVALID'],
  ])('refuses a list that is %s', (_label, data, code) => {
    expect(thrownCode(() => readDeviceList(data, 'Readers'))).toBe(code);
  });

  it('refuses a response whose common fields have the wrong type', () => {
    expect(thrownCode(() => parseEasyCardResponseData('DeviceQuery', { ErrorCode: 1 }))).toBe(
      'SCHEMA_INVALID',
    );
    expect(parseEasyCardResponseData('DeviceQuery', { Anything: [1, 2] })).toBeTruthy();
  });
});

describe('Settlement', () => {
  it('addresses one reader and lets undocumented fields through', () => {
    expect({
      ...parseEasyCardRequestData('Settlement', { DeviceId: '01301234', Retry: '0', Batch: '7' }),
    }).toEqual({
      DeviceId: '01301234',
      Retry: '0',
      Batch: '7',
    });
    expect(thrownCode(() => parseEasyCardRequestData('Settlement', { Retry: '0' }))).toBe(
      'SCHEMA_INVALID',
    );
    expect(
      parseEasyCardResponseData('Settlement', { ErrorCode: '000000', Total: '100' }).ErrorCode,
    ).toBe('000000');
  });
});

describe('checkEasyCardRequestData', () => {
  it('checks schema-backed ServiceTypes and only shape for the others', () => {
    expect(thrownCode(() => checkEasyCardRequestData('SignOn', { DeviceId: '1' }))).toBe(
      'SCHEMA_INVALID',
    );
    expect(thrownCode(() => checkEasyCardRequestData('Payment', { Anything: 1 }))).toBe('NO_ERROR');
    expect(thrownCode(() => checkEasyCardRequestData('Payment', [1]))).toBe('SCHEMA_INVALID');
    expect(thrownCode(() => checkEasyCardRequestData('toString', {}))).toBe('NO_ERROR');
  });
});

describe('fuzz: Data parsers return or throw IntellaProtocolError', () => {
  const inputs = fc.oneof(
    fc.uint8Array(),
    fc.string(),
    fc.json(),
    fc.anything(),
    fc.dictionary(fc.string(), fc.anything()),
  );
  const serviceTypes = Object.keys(EASYCARD_DATA_SCHEMAS) as Array<
    keyof typeof EASYCARD_DATA_SCHEMAS
  >;

  it('parseEasyCardRequestData / parseEasyCardResponseData / readDeviceList', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...serviceTypes),
        inputs,
        fc.string(),
        (serviceType, input, field) => {
          expect(thrownCode(() => parseEasyCardRequestData(serviceType, input))).not.toBe(
            'FOREIGN_ERROR',
          );
          expect(thrownCode(() => parseEasyCardResponseData(serviceType, input))).not.toBe(
            'FOREIGN_ERROR',
          );
          expect(thrownCode(() => checkEasyCardRequestData(serviceType, input))).not.toBe(
            'FOREIGN_ERROR',
          );
          expect(thrownCode(() => readDeviceList({ [field]: input }, field))).not.toBe(
            'FOREIGN_ERROR',
          );
        },
      ),
      { numRuns: 500 },
    );
  });
});
