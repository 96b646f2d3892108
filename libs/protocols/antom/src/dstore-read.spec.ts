import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  readCreateOrderRequest,
  readDStoreRequest,
  readInquireOrderDetailRequest,
  readPushOrderChangeRequest,
} from './dstore-read';
import {
  DSTORE_INQUIRE_SAMPLE,
  dstoreDeliveryOrder,
  dstoreDeliveryPush,
  dstoreItemEditPush,
  dstorePickupOrder,
} from './dstore-samples';
import { AntomProtocolError } from './errors';
import { CreateOrderRequest } from './schemas';
import { withoutProtoKeys } from './test/proto-keys';

// Fixtures: dstore-samples.ts (D-Store's create_order, push_order_change and data_dictionary tables).

function refusedFields(read: () => unknown): string[] {
  try {
    read();
  } catch (error) {
    if (error instanceof AntomProtocolError && error.code === 'SCHEMA_INVALID')
      return ((error.details?.violations ?? []) as Array<{ field: string }>).map((v) => v.field);
    throw error;
  }
  return [];
}

const order = dstoreDeliveryOrder('pds_2109_2022_1');

describe('createOrder, read as D-Store sends it', () => {
  it('accepts every documented field plus fields never seen, and keeps all of them verbatim', () => {
    const sent = {
      ...order,
      deliveryFee: { value: 300, currency: 'SGD' },
      customer: {
        ...order.customer,
        loyaltyTier: 'GOLD',
        deliveryAddress: { ...(order.customer!.deliveryAddress as object), gate: 'B' },
      },
      orderProducts: [{ ...order.orderProducts[0], addOns: [{ name: 'oat milk' }] }],
      orderAmount: { ...order.orderAmount, rounding: 0 },
      futureField: { nested: [1, 2, 3] },
    };
    const read = readCreateOrderRequest(JSON.stringify(sent));
    expect(read.value).toEqual(sent);
    expect(read.unknownFields).toEqual(
      expect.arrayContaining(['deliveryFee', 'futureField', 'orderAmount.rounding']),
    );
    expect(read.unrecognised).toEqual([]);
  });

  it('accepts a PICKUP order without a customer', () => {
    expect(readCreateOrderRequest(dstorePickupOrder('pds_pickup_1')).value).not.toHaveProperty(
      'customer',
    );
  });

  it.each([
    ['orderChannel', 'SHOPEEFOOD'],
    ['serviceType', 'CURBSIDE'],
  ])('keeps an unknown %s value and reports it', (field, value) => {
    const read = readCreateOrderRequest({ ...order, [field]: value });
    expect(read.value).toMatchObject({ [field]: value });
    expect(read.unrecognised).toEqual([{ field, value }]);
  });

  it('keeps keys Object.prototype has (constructor, valueOf) verbatim instead of crashing', () => {
    const sent = JSON.parse(
      '{"constructor":{"a":1},"customer":{"valueOf":"x","deliveryAddress":{"toString":"y","postCode":"123456"}}}',
    ) as Record<string, unknown>;
    const read = readCreateOrderRequest({ ...order, ...sent });
    expect(read.value.customer).toEqual(sent.customer);
    expect((read.value as unknown as Record<string, unknown>)['constructor']).toEqual({ a: 1 });
  });

  // Documented required fields (create_order: "Required: Yes").
  it.each([
    'requestOrderId',
    'posAccountId',
    'posStoreId',
    'orderChannel',
    'channelOrderId',
    'serviceType',
    'expectFulfillmentTime',
    'orderProducts',
    'orderAmount',
  ])('refuses an order without %s, naming it', (field) => {
    const { [field]: _gone, ...rest } = order as Record<string, unknown>;
    expect(refusedFields(() => readCreateOrderRequest(rest))).toContain(field);
  });

  // The data dictionary's limits, at and beyond each edge.
  it.each([
    [{ posAccountId: 'a'.repeat(64) }, []],
    [{ posAccountId: 'a'.repeat(65) }, ['posAccountId']],
    [{ orderAmount: { value: 2_147_483_647, currency: 'SGD' } }, []],
    [{ orderAmount: { value: 2_147_483_648, currency: 'SGD' } }, ['orderAmount.value']],
    [{ orderAmount: { value: -1, currency: 'SGD' } }, ['orderAmount.value']],
    [{ orderAmount: { value: 12.5, currency: 'SGD' } }, ['orderAmount.value']],
    [{ orderAmount: { value: 0, currency: 'SGDX' } }, ['orderAmount.currency']],
    [{ customer: { deliveryAddress: { postCode: '1234567' } } }, ['customer']],
    [{ customer: { deliveryAddress: { addressDetail: 'a'.repeat(256) } } }, ['customer']],
    [{ customer: { deliveryAddress: { blockNo: 10 } } }, ['customer']],
    [{ customer: { deliveryAddress: { unitNo: 'a'.repeat(255), postCode: '123456' } } }, []],
    [{ customer: 'Tan' }, ['customer']],
    [{ expectFulfillmentTime: 'tomorrow noon' }, ['expectFulfillmentTime']],
    [{ expectFulfillmentTime: '2026-12-07T04:30:00Z' }, []],
  ])('%j → refused fields %j', (change, fields) => {
    expect(refusedFields(() => readCreateOrderRequest({ ...order, ...change }))).toEqual(fields);
  });

  it('words a refusal with the field and the limit', () => {
    expect(() =>
      readCreateOrderRequest({ ...order, customer: { deliveryAddress: { postCode: '1234567' } } }),
    ).toThrow(/customer\.deliveryAddress\.postCode must be at most 6 characters/);
  });
});

describe('pushOrderChange, read as D-Store sends it', () => {
  it('accepts a push with only a delivery status', () => {
    const push = dstoreDeliveryPush('pds_1', 'push-1');
    expect(readPushOrderChangeRequest(push)).toEqual({
      value: push,
      unknownFields: [],
      unrecognised: [],
    });
  });

  it('accepts a push with only item edits and the refund', () => {
    const push = dstoreItemEditPush('pds_1', 'push-2');
    expect(readPushOrderChangeRequest(push).value).toEqual(push);
  });

  it('keeps an unknown orderStatus and reports it', () => {
    const read = readPushOrderChangeRequest({
      requestId: 'p-3',
      requestOrderId: 'pds_1',
      orderStatus: 'PICKED_UP',
    });
    expect(read.unrecognised).toEqual([{ field: 'orderStatus', value: 'PICKED_UP' }]);
  });

  it.each(['requestId', 'requestOrderId'])('refuses a push without %s', (field) => {
    const { [field]: _gone, ...rest }: Record<string, unknown> = {
      requestId: 'p',
      requestOrderId: 'o',
      orderStatus: 'COMPLETED',
    };
    expect(refusedFields(() => readPushOrderChangeRequest(rest))).toEqual([field]);
  });

  it.each([
    [{ updatedOrderProducts: 'latte' }, ['updatedOrderProducts']],
    [{ refundInfo: 450 }, ['refundInfo']],
    [{ extendInfo: { note: 'x'.repeat(3000) } }, ['extendInfo']],
    [{ deliveryStatus: '' }, ['deliveryStatus']],
  ])('%j → refused fields %j', (change, fields) => {
    const push = { requestId: 'p', requestOrderId: 'o', ...change };
    expect(refusedFields(() => readPushOrderChangeRequest(push))).toEqual(fields);
  });
});

describe('inquireOrderDetail', () => {
  it('reads the seed’s sample, and one with a field never seen', () => {
    expect(readInquireOrderDetailRequest(DSTORE_INQUIRE_SAMPLE).value).toEqual({
      requestOrderId: 'pds_2109xxxxxxxxxxxx_2022xxxxxxxxxxxxxxx_1',
    });
    const read = readInquireOrderDetailRequest({ requestOrderId: 'pds_1', traceId: 't-1' });
    expect(read.unknownFields).toEqual(['traceId']);
  });
});

describe('any input', () => {
  it('either reads or throws AntomProtocolError, never anything else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.string()), (input) => {
        try {
          readDStoreRequest(CreateOrderRequest, input);
        } catch (error) {
          expect(error).toBeInstanceOf(AntomProtocolError);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('an order with random extra fields is still read, and kept', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.string({ minLength: 1 }).filter((k) => !(k in order)),
          fc.jsonValue(),
        ),
        (extra) => {
          const sent = { ...extra, ...order };
          const read = readCreateOrderRequest(JSON.stringify(sent));
          expect(read.value).toEqual(withoutProtoKeys(JSON.parse(JSON.stringify(sent))));
        },
      ),
      { numRuns: 500 },
    );
  });
});
