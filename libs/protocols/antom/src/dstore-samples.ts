import type { CreateOrderRequest, PushOrderChangeRequest } from './schemas';

/**
 * D-Store requests shaped by D-Store's own field tables: idocs.alipay.com/dstore/dstoredocs/api_ref/create_order,
 * push_order_change, inquire_order_detail and data_dictionary (AddressDetail, Amount), as summarised in
 * protocols.md §3. The tables are cut off in the copies we can read, so the values are ours; the field names, the
 * required/optional split and the limits are D-Store's. The simulator sends these, and the tests read them.
 */

/** inquireOrderDetail's request sample, verbatim from the seed (seeds/002_01d1072dde52f130.txt, "Samples"). */
export const DSTORE_INQUIRE_SAMPLE = `{
"requestOrderId": "pds_2109xxxxxxxxxxxx_2022xxxxxxxxxxxxxxx_1"
}`;

/** An AddressDetail with every documented field (data_dictionary), at its documented sizes. */
export const DSTORE_SAMPLE_ADDRESS = {
  addressDetail: '10 Bayfront Avenue, Downtown Core, Singapore',
  blockNo: '10',
  floorNo: '23',
  unitNo: '05',
  postCode: '018956',
  latitude: '1.283100',
  longitude: '103.860700',
  additionalInformation: 'Leave at the concierge',
};

/**
 * A DELIVERY createOrder with every field create_order documents. The Customer table is cut off in our copies: the
 * member names `name`, `phoneNo` and `deliveryAddress` are assumptions; tillbus finds the address by its
 * AddressDetail fields, whatever the member is called.
 */
export function dstoreDeliveryOrder(
  requestOrderId: string,
  overrides: Record<string, unknown> = {},
): CreateOrderRequest & Record<string, unknown> {
  return {
    requestOrderId,
    posAccountId: 'acct-1',
    posStoreId: 'store-7',
    orderChannel: 'GRABFOOD',
    channelOrderId: `GF-${requestOrderId.slice(0, 40)}`,
    serviceType: 'DELIVERY',
    expectFulfillmentTime: '2026-12-07T12:30:00+08:00',
    customer: {
      name: 'Tan Mei Ling',
      phoneNo: '+6591234567',
      deliveryAddress: { ...DSTORE_SAMPLE_ADDRESS },
    },
    orderProducts: [
      { productId: 'latte', quantity: 2, price: { value: 450, currency: 'SGD' } },
      { productId: 'croissant', quantity: 1, price: { value: 380, currency: 'SGD' } },
    ],
    orderAmount: { value: 1280, currency: 'SGD' },
    ...overrides,
  };
}

/** A PICKUP order: no customer (D-Store cannot always obtain one), the pickup time the buyer chose. */
export function dstorePickupOrder(
  requestOrderId: string,
  overrides: Record<string, unknown> = {},
): CreateOrderRequest & Record<string, unknown> {
  const { customer: _customer, ...order } = dstoreDeliveryOrder(requestOrderId, {
    orderChannel: 'DSTORE',
    serviceType: 'PICKUP',
  });
  return { ...order, ...overrides };
}

/** A push carrying only a delivery status (push_order_change: every field but the ids is optional). */
export function dstoreDeliveryPush(
  requestOrderId: string,
  requestId: string,
  deliveryStatus = 'DRIVER_ARRIVED_AT_STORE',
): PushOrderChangeRequest & Record<string, unknown> {
  return { requestId, requestOrderId, deliveryStatus };
}

/** A GrabFood edit: fewer items, and the refund D-Store made for the lower total. */
export function dstoreItemEditPush(
  requestOrderId: string,
  requestId: string,
): PushOrderChangeRequest & Record<string, unknown> {
  return {
    requestId,
    requestOrderId,
    updatedOrderProducts: [{ productId: 'latte', quantity: 1 }],
    refundInfo: { refundAmount: { value: 450, currency: 'SGD' } },
  };
}
