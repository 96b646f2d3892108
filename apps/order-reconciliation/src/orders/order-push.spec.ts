import {
  dstoreDeliveryOrder,
  dstoreDeliveryPush,
  dstoreItemEditPush,
  readCreateOrderRequest,
} from '@tillbus/protocols-antom';
import { describe, expect, it } from 'vitest';
import { OrderConflictError } from './errors';
import { applyPush, ORDER_RECORD_MAX_BYTES, PUSHES_MAX, type PushRequest } from './order-push';
import { applyReport, newOrderRecord, type OrderRecord } from './order-record';

const T0 = 1_700_000_000_000;
const ID = 'pds_push_1';

// Fixtures: dstore-samples.ts (D-Store's push_order_change table).
function order(): OrderRecord {
  return newOrderRecord(readCreateOrderRequest(dstoreDeliveryOrder(ID)).value, T0);
}

function apply(current: OrderRecord, push: PushRequest, at = T0 + 1000) {
  return applyPush(current, push, at);
}

describe('a push without a status', () => {
  it('applies a delivery status alone: recorded, shown on the order, status unchanged', () => {
    const result = apply(order(), dstoreDeliveryPush(ID, 'p-1', 'DRIVER_ARRIVED_AT_STORE'));
    expect(result).toMatchObject({ repeat: false, outcome: 'APPLIED' });
    expect(result.order).toMatchObject({
      status: 'ORDER_SUCCESS',
      deliveryStatus: 'DRIVER_ARRIVED_AT_STORE',
      updatedAtMs: T0 + 1000,
    });
    expect(result.order.pushes).toEqual([
      expect.objectContaining({
        requestId: 'p-1',
        outcome: 'APPLIED',
        change: { deliveryStatus: 'DRIVER_ARRIVED_AT_STORE' },
      }),
    ]);
  });

  it('applies item edits and the refund, kept verbatim', () => {
    const push = dstoreItemEditPush(ID, 'p-2') as PushRequest;
    const result = apply(order(), push);
    expect(result.outcome).toBe('APPLIED');
    expect(result.order.pushes[0].change).toEqual({
      updatedOrderProducts: push.updatedOrderProducts,
      refundInfo: push.refundInfo,
    });
  });

  it('keeps an unknown status and unknown fields, and changes no status', () => {
    const result = apply(order(), {
      requestId: 'p-3',
      requestOrderId: ID,
      orderStatus: 'PICKED_UP',
      courier: { name: 'X' },
    } as unknown as PushRequest);
    expect(result.outcome).toBe('APPLIED');
    expect(result.order.status).toBe('ORDER_SUCCESS');
    expect(result.order.pushes[0]).toMatchObject({
      orderStatus: 'PICKED_UP',
      unrecognisedStatus: true,
      change: { courier: { name: 'X' } },
    });
  });
});

describe('a push with a status', () => {
  it('moves the order through the journey', () => {
    const result = apply(order(), {
      requestId: 'p-4',
      requestOrderId: ID,
      orderStatus: 'CANCELLED',
    });
    expect(result).toMatchObject({ outcome: 'APPLIED', order: { status: 'CANCELLED' } });
    expect(result.order.history.at(-1)).toMatchObject({ status: 'CANCELLED', ref: 'p-4' });
  });

  it('is refused after a final status, and the refusal is remembered under its requestId', () => {
    const failed = applyReport(order(), {
      reported: 'ORDER_FAIL',
      source: 'dstore',
      now: T0,
    }).order;
    const result = apply(failed, {
      requestId: 'p-5',
      requestOrderId: ID,
      orderStatus: 'COMPLETED',
      deliveryStatus: 'DELIVERED',
    });
    expect(result).toMatchObject({ outcome: 'REFUSED', reason: 'FROM_FINAL' });
    expect(result.order.deliveryStatus).toBeUndefined();
    const again = apply(result.order, {
      requestId: 'p-5',
      requestOrderId: ID,
      orderStatus: 'COMPLETED',
      deliveryStatus: 'DELIVERED',
    });
    expect(again).toMatchObject({ repeat: true, outcome: 'REFUSED', reason: 'FROM_FINAL' });
  });

  it('the same status again, with nothing else, is a duplicate', () => {
    const once = apply(order(), { requestId: 'p-6', requestOrderId: ID, orderStatus: 'CANCELLED' });
    const twice = apply(once.order, {
      requestId: 'p-7',
      requestOrderId: ID,
      orderStatus: 'CANCELLED',
    });
    expect(twice.outcome).toBe('DUPLICATE');
  });
});

describe('requestId is the idempotency key for the order’s whole life', () => {
  it('a repeat gets the first outcome and writes nothing', () => {
    const first = apply(order(), dstoreDeliveryPush(ID, 'p-8'));
    const repeat = apply(first.order, dstoreDeliveryPush(ID, 'p-8'), T0 + 9000);
    expect(repeat).toMatchObject({ repeat: true, outcome: 'APPLIED' });
    expect(repeat.order).toBe(first.order);
  });

  it('an old requestId reused with another change is a conflict, however many pushes came after it', () => {
    let current = apply(order(), {
      requestId: 'first',
      requestOrderId: ID,
      deliveryStatus: 'ASSIGNED',
    }).order;
    for (let i = 0; i < 60; i++)
      current = apply(current, dstoreDeliveryPush(ID, `later-${i}`, `STEP_${i}`)).order;
    expect(() =>
      apply(current, { requestId: 'first', requestOrderId: ID, orderStatus: 'CANCELLED' }),
    ).toThrow(OrderConflictError);
    expect(() =>
      apply(current, { requestId: 'first', requestOrderId: ID, orderStatus: 'CANCELLED' }),
    ).toThrow(/first was already used for a different change on this order \(deliveryStatus\)/);
    expect(current.pushes).toHaveLength(61);
  });

  it('refuses more than PUSHES_MAX pushes on one order (a safety limit)', () => {
    let current = order();
    for (let i = 0; i < PUSHES_MAX; i++)
      current = apply(current, dstoreDeliveryPush(ID, `p-${i}`, `S${i}`)).order;
    expect(() => apply(current, dstoreDeliveryPush(ID, 'one-too-many'))).toThrow(/safety limit/);
    // A repeat of a remembered one is still answered.
    expect(apply(current, dstoreDeliveryPush(ID, 'p-0', 'S0')).repeat).toBe(true);
  });

  it('refuses a push that would grow the order past what one KV value can hold', () => {
    const big = { note: 'x'.repeat(200 * 1024) };
    let current = order();
    for (let i = 0; i < 3; i++)
      current = apply(current, {
        requestId: `big-${i}`,
        requestOrderId: ID,
        courier: big,
      } as PushRequest).order;
    expect(JSON.stringify(current).length).toBeLessThan(ORDER_RECORD_MAX_BYTES);
    expect(() =>
      apply(current, { requestId: 'big-3', requestOrderId: ID, courier: big } as PushRequest),
    ).toThrow(/would grow past 786432 bytes with this change; refused \(a safety limit\)/);
  });
});
