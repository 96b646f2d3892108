import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DSTORE_ORDER_STATUS_NAMES,
  NOTIFY_ORDER_CHANGE_STATUSES,
  PUSH_ORDER_CHANGE_STATUSES,
} from '@tillbus/result-codes';
import { AntomProtocolError } from './errors';
import {
  parseCreateOrderRequest,
  parseDiagnosisRequest,
  parseDiagnosisResponse,
  parseInquireOrderDetailRequest,
  parseInquireOrderDetailResponse,
  parseNotifyOrderChangeRequest,
  parsePushOrderChangeRequest,
  parseResultResponse,
  type AntomMessageInput,
  type ParseOptions,
} from './parse';
import { ORDER_CHANNELS, SERVICE_TYPES } from './schemas';
import { withoutProtoKeys } from './test/proto-keys';

type Parser = (input: AntomMessageInput, options?: ParseOptions) => object;

const success = { resultCode: 'SUCCESS', resultStatus: 'S', resultMessage: 'success' };

// The seeds' own samples, verbatim.
const diagnosisSample = `{
"result":{
"resultCode": "SUCCESS",
"resultStatus": "S",
"resultMessage": "Success."
},
"networkStatus": "Y",
"printerStatus": "Y",
"globalStatus": "Y"
}`;
const inquireRequestSample = `{
"requestOrderId": "pds_2109xxxxxxxxxxxx_2022xxxxxxxxxxxxxxx_1"
}`;
const inquireResponseSample = `{
"posOrderId": "2023063000010002",
"orderStatus": "ACCEPTED",
"result": {
"resultCode": "SUCCESS",
"resultMessage": "success",
"resultStatus": "S"
}
}`;

const createOrder = {
  orderChannel: 'FOODPANDA',
  serviceType: 'DELIVERY',
  requestOrderId: 'pds_2109_2022_1',
  posAccountId: 'acct-1',
  posStoreId: 'store-7',
  channelOrderId: 'fp-123',
  expectFulfillmentTime: '2026-12-07T12:30:00+08:00',
  orderProducts: [{ productId: 'p1', quantity: 2, options: [{ name: 'spicy' }] }],
  orderAmount: { value: 15900, currency: 'KRW' },
};
const push = { requestId: 'req-1', requestOrderId: 'pds_1', orderStatus: 'CANCELLED' };
const notify = {
  requestId: 'req-2',
  requestOrderId: 'pds_1',
  orderStatus: 'READY',
};
const inquireResponse = { result: success, posOrderId: 'pos-9', orderStatus: 'PREPARING' };
const diagnosis = { result: success, networkStatus: 'Y', printerStatus: 'N', globalStatus: 'Y' };

const parsers: Array<[string, Parser, object]> = [
  ['parseDiagnosisRequest', parseDiagnosisRequest, {}],
  ['parseDiagnosisResponse', parseDiagnosisResponse, diagnosis],
  ['parseInquireOrderDetailRequest', parseInquireOrderDetailRequest, { requestOrderId: 'pds_1' }],
  ['parseInquireOrderDetailResponse', parseInquireOrderDetailResponse, inquireResponse],
  ['parseCreateOrderRequest', parseCreateOrderRequest, createOrder],
  ['parsePushOrderChangeRequest', parsePushOrderChangeRequest, push],
  ['parseNotifyOrderChangeRequest', parseNotifyOrderChangeRequest, notify],
  ['parseResultResponse', parseResultResponse, { result: success }],
];

function violationFields(parse: Parser, input: unknown): string[] {
  try {
    parse(input);
  } catch (error) {
    if (error instanceof AntomProtocolError && error.code === 'SCHEMA_INVALID') {
      const violations = (error.details?.violations ?? []) as Array<{ field: string }>;
      for (const v of violations) expect(error.message).toContain(v.field);
      return violations.map((v) => v.field);
    }
    throw error;
  }
  return [];
}

describe('the seeds’ samples', () => {
  it('parses the diagnosis response sample', () => {
    expect(parseDiagnosisResponse(diagnosisSample)).toEqual({
      result: { resultCode: 'SUCCESS', resultStatus: 'S', resultMessage: 'Success.' },
      networkStatus: 'Y',
      printerStatus: 'Y',
      globalStatus: 'Y',
    });
  });

  it('parses the inquireOrderDetail samples', () => {
    expect(parseInquireOrderDetailRequest(inquireRequestSample)).toEqual({
      requestOrderId: 'pds_2109xxxxxxxxxxxx_2022xxxxxxxxxxxxxxx_1',
    });
    expect(parseInquireOrderDetailResponse(inquireResponseSample)).toEqual({
      posOrderId: '2023063000010002',
      orderStatus: 'ACCEPTED',
      result: { resultCode: 'SUCCESS', resultMessage: 'success', resultStatus: 'S' },
    });
  });

  it('parses the empty diagnosis request', () => {
    expect(parseDiagnosisRequest('{}')).toEqual({});
  });
});

describe('each parser', () => {
  it.each(parsers)(
    '%s accepts its valid example as text, bytes and object',
    (_name, parse, example) => {
      const text = JSON.stringify(example);
      expect(parse(text)).toEqual(example);
      expect(parse(Buffer.from(text))).toEqual(example);
      expect(parse(example)).toEqual(example);
    },
  );

  it.each(parsers)(
    '%s strips unknown fields by default and refuses them with forbid',
    (_name, parse, example) => {
      expect(parse({ ...example, addedByVendorLater: 1 })).toEqual(example);
      expect(
        violationFields((input) => parse(input, { unknownFields: 'forbid' }), {
          ...example,
          addedByVendorLater: 1,
        }),
      ).toEqual(['addedByVendorLater']);
    },
  );

  it.each(parsers)('%s reports MALFORMED_JSON for broken text and bytes', (_name, parse) => {
    for (const input of ['{', '', 'undefined', "{'a':1}", Uint8Array.from([0x7b, 0xff, 0x7d])]) {
      expect(() => parse(input)).toThrow(expect.objectContaining({ code: 'MALFORMED_JSON' }));
    }
  });

  it.each(parsers)('%s refuses non-objects with SCHEMA_INVALID', (_name, parse) => {
    for (const input of ['[]', 'null', '42', '"text"', null, undefined, 7, [1]]) {
      expect(() => parse(input)).toThrow(expect.objectContaining({ code: 'SCHEMA_INVALID' }));
    }
  });

  it.each(parsers)(
    '%s returns or throws only AntomProtocolError for fuzzed input',
    (_name, parse, example) => {
      const nearlyValid = fc
        .tuple(fc.constantFrom(...Object.keys(example), 'result', 'orderStatus'), fc.anything())
        .map(([key, value]) => ({ ...example, [key]: value }));
      fc.assert(
        fc.property(
          fc.oneof(
            fc.uint8Array(),
            fc.string(),
            fc.json(),
            fc.anything(),
            nearlyValid,
            nearlyValid.map((v) => JSON.stringify(v)),
          ),
          (input) => {
            try {
              parse(input);
              return true;
            } catch (error) {
              return (
                error instanceof AntomProtocolError &&
                (error.code === 'MALFORMED_JSON' || error.code === 'SCHEMA_INVALID')
              );
            }
          },
        ),
        { numRuns: 1500 },
      );
    },
  );
});

describe('Result', () => {
  it.each([
    [{ resultStatus: 'S', resultCode: 'A'.repeat(64), resultMessage: 'm'.repeat(256) }, []],
    [{ resultStatus: 'F' }, []],
    [
      { resultStatus: 'X', resultCode: 'A'.repeat(65), resultMessage: 'm'.repeat(257) },
      ['result.resultStatus', 'result.resultCode', 'result.resultMessage'],
    ],
    [{ resultStatus: 's' }, ['result.resultStatus']],
    [{ resultStatus: 'F', resultCode: null }, ['result.resultCode']],
    [{ resultStatus: 'F', resultCode: 1 }, ['result.resultCode']],
  ])('Result %# -> violations %j', (result, fields) => {
    expect(violationFields(parseResultResponse, { result })).toEqual(fields);
  });
});

describe('diagnosis response', () => {
  it('lets a failure answer carry only the result', () => {
    const answer = {
      result: {
        resultStatus: 'F',
        resultCode: 'INVALID_SIGNATURE',
        resultMessage: 'The signature is not validated.',
      },
    };
    expect(parseDiagnosisResponse(answer)).toEqual(answer);
  });

  it('requires the three flags on success, each Y or N', () => {
    expect(violationFields(parseDiagnosisResponse, { result: success })).toEqual([
      'networkStatus',
      'printerStatus',
      'globalStatus',
    ]);
    expect(
      violationFields(parseDiagnosisResponse, {
        ...diagnosis,
        networkStatus: 'y',
        globalStatus: true,
      }),
    ).toEqual(['networkStatus', 'globalStatus']);
    expect(
      violationFields(parseDiagnosisResponse, {
        result: { resultStatus: 'U' },
        printerStatus: 'maybe',
      }),
    ).toEqual(['printerStatus']);
  });
});

describe('inquireOrderDetail', () => {
  it.each([
    [{ requestOrderId: 'x'.repeat(255) }, []],
    [{ requestOrderId: 'x'.repeat(256) }, ['requestOrderId']],
    [{ requestOrderId: '' }, ['requestOrderId']],
    [{ requestOrderId: 12 }, ['requestOrderId']],
    [{}, ['requestOrderId']],
  ])('request %#', (input, fields) => {
    expect(violationFields(parseInquireOrderDetailRequest, input)).toEqual(fields);
  });

  it.each(DSTORE_ORDER_STATUS_NAMES)('response accepts orderStatus %s', (orderStatus) => {
    expect(parseInquireOrderDetailResponse({ ...inquireResponse, orderStatus })).toMatchObject({
      orderStatus,
    });
  });

  it.each([
    [{ posOrderId: 'p'.repeat(256) }, ['posOrderId']],
    [{ orderStatus: 'SHIPPED' }, ['orderStatus']],
    [{ extendInfo: { note: 'n'.repeat(2048 - '{"note":""}'.length) } }, []],
    [{ extendInfo: { note: 'n'.repeat(2049 - '{"note":""}'.length) } }, ['extendInfo']],
    [{ extendInfo: 's'.repeat(2048) }, []],
    [{ extendInfo: 's'.repeat(2049) }, ['extendInfo']],
    [{ extendInfo: [1] }, ['extendInfo']],
    [{ extendInfo: null }, ['extendInfo']],
  ])('response %# -> violations %j', (change, fields) => {
    expect(
      violationFields(parseInquireOrderDetailResponse, { ...inquireResponse, ...change }),
    ).toEqual(fields);
  });

  it('lets a U answer carry only the result', () => {
    const answer = { result: { resultStatus: 'U', resultCode: 'UNKNOWN_EXCEPTION' } };
    expect(parseInquireOrderDetailResponse(answer)).toEqual(answer);
  });
});

describe('createOrder', () => {
  it.each(ORDER_CHANNELS.flatMap((channel) => SERVICE_TYPES.map((type) => [channel, type])))(
    'accepts %s / %s',
    (orderChannel, serviceType) => {
      expect(parseCreateOrderRequest({ ...createOrder, orderChannel, serviceType })).toMatchObject({
        orderChannel,
        serviceType,
      });
    },
  );

  it('keeps every product field as sent', () => {
    const products: Array<Record<string, unknown>> = [
      { a: 1, nested: { deep: [1, 'x', null] }, unknownToUs: true },
      { sku: 'B', valueOf: 0, toString: 'x', constructor: { name: 'c' }, hasOwnProperty: true },
    ];
    expect(
      parseCreateOrderRequest({ ...createOrder, orderProducts: products }).orderProducts,
    ).toEqual(products);
  });

  it.each([
    [{ orderChannel: 'UBEREATS' }, ['orderChannel']],
    [{ serviceType: 'DRIVE_THRU' }, ['serviceType']],
    [{ requestOrderId: undefined }, ['requestOrderId']],
    [{ posAccountId: '' }, ['posAccountId']],
    [{ posStoreId: 'x'.repeat(256) }, ['posStoreId']],
    [{ channelOrderId: 5 }, ['channelOrderId']],
    [{ orderProducts: [] }, ['orderProducts']],
    [{ orderProducts: [1, 'x'] }, ['orderProducts']],
    [{ orderProducts: Array.from({ length: 501 }, () => ({})) }, ['orderProducts']],
    [{ orderProducts: { a: 1 } }, ['orderProducts']],
    [{ orderAmount: { value: 1.5, currency: 'KRW' } }, ['orderAmount.value']],
    [{ orderAmount: { value: '100', currency: 'KRW' } }, ['orderAmount.value']],
    [{ orderAmount: { value: -1, currency: 'KRW' } }, ['orderAmount.value']],
    [{ orderAmount: { value: 2 ** 53, currency: 'KRW' } }, ['orderAmount.value']],
    [{ orderAmount: { value: 0, currency: 'krw' } }, ['orderAmount.currency']],
    [{ orderAmount: { value: 0, currency: 'KRWX' } }, ['orderAmount.currency']],
    [{ orderAmount: 100 }, ['orderAmount']],
  ])('refuses case %# naming %j', (change, fields) => {
    expect(violationFields(parseCreateOrderRequest, { ...createOrder, ...change })).toEqual(fields);
  });
});

describe('pushOrderChange and notifyOrderChange', () => {
  it.each(DSTORE_ORDER_STATUS_NAMES)('push with %s follows the allowed set', (orderStatus) => {
    const allowed = (PUSH_ORDER_CHANGE_STATUSES as readonly string[]).includes(orderStatus);
    expect(violationFields(parsePushOrderChangeRequest, { ...push, orderStatus })).toEqual(
      allowed ? [] : ['orderStatus'],
    );
  });

  it.each(DSTORE_ORDER_STATUS_NAMES)('notify with %s follows the allowed set', (orderStatus) => {
    const allowed = (NOTIFY_ORDER_CHANGE_STATUSES as readonly string[]).includes(orderStatus);
    expect(violationFields(parseNotifyOrderChangeRequest, { ...notify, orderStatus })).toEqual(
      allowed ? [] : ['orderStatus'],
    );
  });

  it('push: orderStatus and extendInfo are optional, requestId and requestOrderId are not', () => {
    expect(parsePushOrderChangeRequest({ requestId: 'p-1', requestOrderId: 'pds_1' })).toEqual({
      requestId: 'p-1',
      requestOrderId: 'pds_1',
    });
    expect(
      parsePushOrderChangeRequest({ ...push, extendInfo: { reason: 'customer' } }),
    ).toMatchObject({
      extendInfo: { reason: 'customer' },
    });
    expect(
      violationFields(parsePushOrderChangeRequest, { orderStatus: 'COMPLETED', requestId: '' }),
    ).toEqual(['requestId', 'requestOrderId']);
  });

  it('notify: requestId is required, every change field optional, posOrderId not documented', () => {
    const shortOnly = { requestId: 'r', requestOrderId: 'o', shortOrderNumber: 'A-042' };
    expect(parseNotifyOrderChangeRequest(shortOnly)).toEqual(shortOnly);
    const refund = {
      requestId: 'r',
      requestOrderId: 'o',
      refundAmount: { value: 450, currency: 'SGD' },
    };
    expect(parseNotifyOrderChangeRequest(refund, { unknownFields: 'forbid' })).toEqual(refund);
    expect(
      violationFields(parseNotifyOrderChangeRequest, { ...notify, requestId: undefined }),
    ).toEqual(['requestId']);
    expect(() =>
      parseNotifyOrderChangeRequest({ ...notify, posOrderId: 'tb-1' }, { unknownFields: 'forbid' }),
    ).toThrow(/posOrderId/);
    expect(
      violationFields(parseNotifyOrderChangeRequest, {
        ...refund,
        refundAmount: { value: 2_147_483_648, currency: 'SGD' },
      }),
    ).toEqual(['refundAmount.value']);
  });
});

describe('hostile JSON', () => {
  it('drops "__proto__" keys from text and objects and pollutes nothing', () => {
    const text = '{"requestOrderId":"a","__proto__":{"polluted":true}}';
    const parsed = parseInquireOrderDetailRequest(text, { unknownFields: 'forbid' });
    expect(parsed).toEqual({ requestOrderId: 'a' });
    const product = parseCreateOrderRequest(
      JSON.stringify(createOrder).replace(
        '"productId"',
        '"__proto__":{"polluted":true},"productId"',
      ),
    ).orderProducts[0];
    expect(Object.getPrototypeOf(product)).toBe(Object.prototype);
    expect((product as { polluted?: boolean }).polluted).toBeUndefined();
    expect(parseInquireOrderDetailRequest(JSON.parse(text))).toEqual({ requestOrderId: 'a' });
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it('keeps an order whose products use prototype names as keys, and never leaks a TypeError', () => {
    const products = [
      { constructor: { name: 'c' }, nested: { constructor: { prototype: 1 }, toString: 'x' } },
    ];
    expect(
      parseCreateOrderRequest({ ...createOrder, orderProducts: products }).orderProducts,
    ).toEqual(products);
    const weird = { ...createOrder, vendorField: { constructor: { x: 1 } } };
    expect(() => parseCreateOrderRequest(weird)).toThrow(
      expect.objectContaining({ code: 'SCHEMA_INVALID' }),
    );
  });

  it.each(parsers)('%s survives prototype-named keys anywhere', (_name, parse, example) => {
    const dangerous = fc.constantFrom(
      'constructor',
      '__proto__',
      'toString',
      'valueOf',
      'prototype',
      'hasOwnProperty',
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.jsonValue({ maxDepth: 1 }),
        fc.dictionary(dangerous, tie('node'), { maxKeys: 3 }),
      ),
    })).node;
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(example), 'orderProducts', 'extendInfo', 'extra'),
        value,
        (key, v) => {
          for (const input of [
            { ...example, [key]: v },
            JSON.stringify({ ...example, [key]: v }),
          ]) {
            try {
              parse(input);
            } catch (error) {
              if (!(error instanceof AntomProtocolError)) return false;
            }
          }
          return true;
        },
      ),
      { numRuns: 500 },
    );
  });

  it('turns cycles, BigInt and throwing getters into SCHEMA_INVALID', () => {
    const cyclic: Record<string, unknown> = { requestOrderId: 'a' };
    cyclic.self = cyclic;
    const throwing = Object.defineProperty({}, 'requestOrderId', {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    });
    for (const input of [cyclic, { requestOrderId: 1n }, throwing]) {
      expect(() => parseInquireOrderDetailRequest(input)).toThrow(
        expect.objectContaining({ code: 'SCHEMA_INVALID' }),
      );
    }
  });
});

describe('parse(JSON.stringify(x)) equals x', () => {
  const id = (max: number) => fc.string({ minLength: 1, maxLength: max });
  const result = fc.record(
    {
      resultStatus: fc.constantFrom('S', 'F', 'U'),
      resultCode: fc.string({ maxLength: 64 }),
      resultMessage: fc.string({ maxLength: 256 }),
    },
    { requiredKeys: ['resultStatus'] },
  );
  const flag = fc.constantFrom('Y', 'N');
  const extendInfo = fc.oneof(
    fc.string({ maxLength: 2048 }),
    fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), {
      maxKeys: 5,
    }),
  );
  const product = fc.dictionary(
    fc.string({ minLength: 1, maxLength: 10 }).filter((k) => k !== '__proto__'),
    fc.jsonValue({ maxDepth: 2 }),
    { maxKeys: 5 },
  );

  const cases: Array<[string, Parser, fc.Arbitrary<object>]> = [
    [
      'diagnosis response',
      parseDiagnosisResponse,
      fc.record({
        result: result.map((r) => ({ ...r, resultStatus: 'S' })),
        networkStatus: flag,
        printerStatus: flag,
        globalStatus: flag,
      }),
    ],
    ['inquire request', parseInquireOrderDetailRequest, fc.record({ requestOrderId: id(255) })],
    [
      'inquire response',
      parseInquireOrderDetailResponse,
      fc.record(
        {
          result,
          posOrderId: id(255),
          orderStatus: fc.constantFrom(...DSTORE_ORDER_STATUS_NAMES),
          extendInfo,
        },
        { requiredKeys: ['result', 'posOrderId', 'orderStatus'] },
      ),
    ],
    [
      'createOrder',
      parseCreateOrderRequest,
      fc.record({
        orderChannel: fc.constantFrom(...ORDER_CHANNELS),
        serviceType: fc.constantFrom(...SERVICE_TYPES),
        requestOrderId: id(255),
        posAccountId: id(64),
        posStoreId: id(255),
        channelOrderId: id(255),
        expectFulfillmentTime: fc
          .date({ min: new Date('2000-01-01'), max: new Date('2099-12-31'), noInvalidDate: true })
          .map((d) => d.toISOString()),
        orderProducts: fc.array(product, { minLength: 1, maxLength: 5 }),
        orderAmount: fc.record({
          value: fc.integer({ min: 0, max: 2_147_483_647 }),
          currency: fc.stringMatching(/^[A-Z]{3}$/),
        }),
      }),
    ],
    [
      'pushOrderChange',
      parsePushOrderChangeRequest,
      fc.record(
        {
          requestId: id(255),
          requestOrderId: id(255),
          orderStatus: fc.constantFrom(...PUSH_ORDER_CHANGE_STATUSES),
          deliveryStatus: id(64),
          updatedOrderProducts: fc.array(product, { maxLength: 5 }),
          refundInfo: fc.record({
            refundAmount: fc.record({ value: fc.nat(), currency: fc.constant('SGD') }),
          }),
          extendInfo,
        },
        { requiredKeys: ['requestId', 'requestOrderId'] },
      ),
    ],
    [
      'notifyOrderChange',
      parseNotifyOrderChangeRequest,
      fc.record(
        {
          requestId: id(255),
          requestOrderId: id(255),
          shortOrderNumber: id(255),
          orderStatus: fc.constantFrom(...NOTIFY_ORDER_CHANGE_STATUSES),
          deliveryStatus: id(64),
          refundAmount: fc.record({
            value: fc.integer({ min: 0, max: 2_147_483_647 }),
            currency: fc.constant('SGD'),
          }),
        },
        { requiredKeys: ['requestId', 'requestOrderId'] },
      ),
    ],
    ['result response', parseResultResponse, fc.record({ result })],
  ];

  it.each(cases)('%s', (_name, parse, arbitrary) => {
    fc.assert(
      fc.property(
        arbitrary.filter(
          (x) => JSON.stringify((x as { extendInfo?: unknown }).extendInfo ?? '').length <= 2048,
        ),
        (message) => {
          // JSON.parse normalises -0 to 0 in nested product values; compare through JSON as the wire does.
          // fast-check's jsonValue sometimes nests a "__proto__" key, which the parser drops by design.
          expect(
            JSON.parse(JSON.stringify(parse(JSON.stringify(message), { unknownFields: 'forbid' }))),
          ).toEqual(withoutProtoKeys(JSON.parse(JSON.stringify(message))));
        },
      ),
      { numRuns: 300 },
    );
  });
});
