import type { OrderView } from '@tillbus/contracts';
import {
  addressesOf,
  dstoreDeliveryOrder,
  dstoreItemEditPush,
  dstorePickupOrder,
} from '@tillbus/protocols-antom';
import { describe, expect, it } from 'vitest';
import { addressText, orderText } from './order-text';

const NOW = Date.parse('2026-12-07T04:00:00Z');

// Fixtures: dstore-samples.ts (D-Store's create_order, push_order_change and data_dictionary tables).
function view(order: Record<string, unknown>, extra: Partial<OrderView> = {}): OrderView {
  const { requestOrderId, ...details } = order;
  // As order-reconciliation's orderView finds it.
  const deliveryAddress = addressesOf(details.customer)[0]?.address;
  return {
    ...(deliveryAddress === undefined ? {} : { deliveryAddress }),
    requestOrderId: requestOrderId as string,
    posOrderId: 'tb-1',
    status: 'ORDER_SUCCESS',
    final: false,
    createdAt: '2026-12-07T03:59:00.000Z',
    updatedAt: '2026-12-07T03:59:30.000Z',
    order: details as OrderView['order'],
    history: [{ status: 'ORDER_SUCCESS', source: 'dstore', at: '2026-12-07T03:59:00.000Z' }],
    refused: [],
    pushes: [],
    notifications: [],
    ...extra,
  };
}

describe('tillbus orders get', () => {
  it('shows the time the customer chose, the customer and the delivery address', () => {
    const text = orderText(view(dstoreDeliveryOrder('o-1')), NOW);
    expect(text).toMatch(/wanted at: +2026-12-07T12:30:00\+08:00 \(/);
    expect(text).toMatch(/customer: +name Tan Mei Ling, phoneNo \+6591234567/);
    expect(text).toMatch(
      /address: +10 Bayfront Avenue, Downtown Core, Singapore, blk 10, #23-05, 018956 \(Leave at the concierge\) @1\.283100,103\.860700/,
    );
  });

  it('calls a pickup order’s time the pickup time, and has no customer line without a customer', () => {
    const text = orderText(view(dstorePickupOrder('o-2')), NOW);
    expect(text).toMatch(/pickup at: +2026-12-07T12:30:00\+08:00/);
    expect(text).not.toMatch(/customer:/);
    expect(text).not.toMatch(/address:/);
  });

  it('shows the delivery status and every change D-Store pushed: delivery, item edits, refunds', () => {
    const edit = dstoreItemEditPush('o-3', 'edit-1');
    const text = orderText(
      view(dstoreDeliveryOrder('o-3'), {
        deliveryStatus: 'DRIVER_ARRIVED_AT_STORE',
        pushes: [
          {
            requestId: 'odd-1',
            orderStatus: 'PICKED_UP',
            unrecognisedStatus: true,
            outcome: 'APPLIED',
            at: '2026-12-07T03:59:35.000Z',
          },
          {
            requestId: 'dlv-1',
            outcome: 'APPLIED',
            at: '2026-12-07T03:59:40.000Z',
            change: { deliveryStatus: 'DRIVER_ARRIVED_AT_STORE' },
          },
          {
            requestId: 'edit-1',
            outcome: 'APPLIED',
            at: '2026-12-07T03:59:50.000Z',
            change: {
              updatedOrderProducts: edit.updatedOrderProducts,
              refundInfo: edit.refundInfo,
            },
          },
        ],
      }),
      NOW,
    );
    expect(text).toMatch(/delivery: +DRIVER_ARRIVED_AT_STORE/);
    expect(text).toContain('changes from D-Store (pushOrderChange):');
    expect(text).toMatch(/DRIVER_ARRIVED_AT_STORE .*APPLIED +dlv-1/);
    expect(text).toMatch(/PICKED_UP \(unrecognised\) .*APPLIED +odd-1/);
    expect(text).toMatch(/\{"productId":"latte","quantity":1\} +4\.50 SGD +APPLIED +edit-1/);
  });

  it('prints an address with only some fields without gaps', () => {
    expect(addressText({ postCode: '018956' })).toBe('018956');
    expect(addressText({ unitNo: '05' })).toBe('#05');
    expect(addressText({})).toBe('-');
  });

  it('shows the pickup code, ready time, refunds with who asked, and every POS change with its outcome', () => {
    const text = orderText(
      view(dstorePickupOrder('o-9'), {
        shortOrderNumber: 'A17',
        readyTime: '2026-12-07T04:45:00.000Z',
        paid: { value: 1280, currency: 'SGD' },
        refunded: { value: 450, currency: 'SGD' },
        refunds: [
          {
            amount: { value: 450, currency: 'SGD' },
            requestedBy: 'operator:alice',
            reason: 'cold fries',
            at: '2026-12-07T03:59:40.000Z',
            ref: 'e-1',
            requestId: 'ntf-1-3',
          },
        ],
        changes: [
          {
            kind: 'refund',
            outcome: 'REFUSED',
            reason: 'REFUND_EXCEEDS_PAID: 900 SGD is more than is left',
            change: { refundAmount: { value: 900, currency: 'SGD' } },
            requestedBy: 'till-3',
            at: '2026-12-07T03:59:50.000Z',
            ref: 'e-2',
          },
        ],
        notifications: [
          {
            requestId: 'ntf-1-3',
            seq: 3,
            change: { refundAmount: { value: 450, currency: 'SGD' } },
            deliveryStatus: 'delivered',
            attempts: 1,
            redeliveries: 0,
            createdAt: '2026-12-07T03:59:40.000Z',
            updatedAt: '2026-12-07T03:59:41.000Z',
          },
        ],
      }),
      NOW,
    );
    expect(text).toMatch(/pickup code: +A17/);
    expect(text).toMatch(/ready at: +2026-12-07T04:45:00.000Z \(in 45/);
    expect(text).toMatch(/refunded: +4\.50 SGD in 1 refund\n/);
    expect(text).toMatch(/4\.50 SGD +operator:alice +cold fries +ntf-1-3/);
    expect(text).toMatch(/refund +refund 9\.00 SGD +REFUSED REFUND_EXCEEDS_PAID.* +till-3/);
    expect(text).toMatch(/3 +- +refund 4\.50 SGD +delivered/);
  });
});
