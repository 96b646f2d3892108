import type { OrderChangeView, PosChangeKind } from '@tillbus/contracts';
import {
  dstoreDeliveryOrder,
  dstorePickupOrder,
  parseCreateOrderRequest,
  parseNotifyOrderChangeRequest,
} from '@tillbus/protocols-antom';
import type { DStoreOrderStatus } from '@tillbus/result-codes';
import { describe, expect, it } from 'vitest';
import { notifyRequestOf } from '../outbox/notifier';
import {
  applyChange,
  isAppliedChangeRef,
  paidOf,
  refundedOf,
  REFUNDS_MAX,
  type ChangeResult,
  type RefundPolicy,
} from './order-change';
import { applyReport, newOrderRecord, type OrderRecord } from './order-record';
import { pickForRedelivery } from './redelivery';

const T0 = 1_700_000_000_000;
const STRICT: RefundPolicy = { onCancelled: 'refuse' };

// Fixtures: dstore-samples.ts (D-Store's create_order table); both orders were paid 1280 SGD.
function order(status: DStoreOrderStatus = 'ACCEPTED', kind: 'PICKUP' | 'DELIVERY' = 'PICKUP') {
  const sample = kind === 'PICKUP' ? dstorePickupOrder('pds_1') : dstoreDeliveryOrder('pds_1');
  return { ...newOrderRecord(parseCreateOrderRequest(sample), T0), status };
}

let n = 0;
function change(
  o: OrderRecord,
  kind: PosChangeKind,
  c: OrderChangeView,
  policy = STRICT,
  extra: { requestedBy?: string; ref?: string } = {},
): ChangeResult {
  n++;
  return applyChange(
    o,
    {
      kind,
      change: c,
      ref: extra.ref ?? `e-${n}`,
      now: T0 + n,
      requestedBy: extra.requestedBy ?? 'till-3',
    },
    policy,
  );
}

const refund = (value: number, currency = 'SGD') => ({ refundAmount: { value, currency } });

function applied(result: ChangeResult): OrderRecord {
  expect(result.outcome, JSON.stringify(result)).toBe('APPLIED');
  return result.order;
}

describe('a POS change', () => {
  it('sets the pickup code and queues one notification carrying only it', () => {
    const result = change(order(), 'short-order-number', { shortOrderNumber: 'A17' });
    const o = applied(result);
    expect(o.shortOrderNumber).toBe('A17');
    expect(o.notifications).toEqual([
      expect.objectContaining({ seq: 1, change: { shortOrderNumber: 'A17' } }),
    ]);
    expect(o.notifications[0]!.orderStatus).toBeUndefined();
    expect(o.changes).toEqual([
      expect.objectContaining({
        kind: 'short-order-number',
        outcome: 'APPLIED',
        requestedBy: 'till-3',
      }),
    ]);
  });

  it('moves the ready time; the same instant again is a duplicate with no notification', () => {
    const o = applied(change(order(), 'ready-time', { readyTime: '2026-12-07T12:45:00+08:00' }));
    const moved = applied(change(o, 'ready-time', { readyTime: '2026-12-07T13:00:00+08:00' }));
    expect(moved.readyTime).toBe('2026-12-07T13:00:00+08:00');
    expect(moved.notifications).toHaveLength(2);
    expect(change(moved, 'ready-time', { readyTime: '2026-12-07T05:00:00Z' }).outcome).toBe(
      'DUPLICATE',
    );
  });

  it('the same pickup code or delivery status again is a duplicate', () => {
    const o = applied(change(order(), 'short-order-number', { shortOrderNumber: 'A17' }));
    expect(change(o, 'short-order-number', { shortOrderNumber: 'A17' }).outcome).toBe('DUPLICATE');
    const d = applied(
      change(order('ACCEPTED', 'DELIVERY'), 'delivery-status', { deliveryStatus: 'DELIVERING' }),
    );
    expect(change(d, 'delivery-status', { deliveryStatus: 'DELIVERING' }).outcome).toBe(
      'DUPLICATE',
    );
  });

  it('takes a delivery status only on a DELIVERY order', () => {
    const refused = change(order('ACCEPTED', 'PICKUP'), 'delivery-status', {
      deliveryStatus: 'DELIVERING',
    });
    expect(refused).toMatchObject({ outcome: 'REFUSED', reason: 'NOT_MERCHANT_DELIVERY' });
    expect(refused.order.notifications).toEqual([]);
    expect(refused.order.deliveryStatus).toBeUndefined();
  });

  it.each(['COMPLETED', 'CANCELLED', 'REJECTED', 'ORDER_FAIL'] as const)(
    'refuses a pickup code or ready time on a %s order, and records the refusal',
    (status) => {
      for (const [kind, c] of [
        ['short-order-number', { shortOrderNumber: 'A17' }],
        ['ready-time', { readyTime: '2026-12-07T12:45:00+08:00' }],
      ] as const) {
        const result = change(order(status), kind, c);
        expect(result).toMatchObject({ outcome: 'REFUSED', reason: 'ORDER_CLOSED' });
        expect(result.order.notifications).toEqual([]);
        expect(result.order.changes).toEqual([
          expect.objectContaining({
            kind,
            outcome: 'REFUSED',
            reason: expect.stringMatching(/ORDER_CLOSED/),
          }),
        ]);
      }
    },
  );
});

describe('refunds are money', () => {
  it('a partial refund is recorded with who asked, and the notification carries only the amount', () => {
    const o = applied(
      change(order(), 'refund', refund(300), STRICT, { requestedBy: 'operator:alice' }),
    );
    expect(o.refunds).toEqual([
      expect.objectContaining({
        amount: { value: 300, currency: 'SGD' },
        requestedBy: 'operator:alice',
        requestId: o.notifications[0]!.requestId,
      }),
    ]);
    expect(refundedOf(o)).toEqual({ value: 300, currency: 'SGD' });
    expect(notifyRequestOf(o, o.notifications[0]!)).toEqual({
      requestId: o.notifications[0]!.requestId,
      requestOrderId: 'pds_1',
      refundAmount: { value: 300, currency: 'SGD' },
    });
  });

  it('refuses a refund beyond what was paid minus earlier refunds; up to it is fine', () => {
    const paid = paidOf(order()).value;
    const first = applied(change(order(), 'refund', refund(paid - 100)));
    const over = change(first, 'refund', refund(101));
    expect(over).toMatchObject({ outcome: 'REFUSED', reason: 'REFUND_EXCEEDS_PAID' });
    expect(over.order.refunds).toHaveLength(1);
    expect(over.order.notifications).toHaveLength(1);
    const rest = applied(change(first, 'refund', refund(100)));
    expect(refundedOf(rest).value).toBe(paid);
    expect(change(rest, 'refund', refund(1))).toMatchObject({ reason: 'REFUND_EXCEEDS_PAID' });
  });

  it('refuses a refund in another currency', () => {
    expect(change(order(), 'refund', refund(1, 'USD'))).toMatchObject({
      outcome: 'REFUSED',
      reason: 'REFUND_CURRENCY',
    });
  });

  it.each(['CANCELLED', 'REJECTED', 'ORDER_FAIL'] as const)(
    'refuses a refund on a %s order unless configured to allow it (still bounded by what was paid)',
    (status) => {
      expect(change(order(status), 'refund', refund(100))).toMatchObject({
        outcome: 'REFUSED',
        reason: 'REFUND_ON_CANCELLED',
      });
      const allow: RefundPolicy = { onCancelled: 'allow' };
      applied(change(order(status), 'refund', refund(100), allow));
      expect(change(order(status), 'refund', refund(5000), allow)).toMatchObject({
        reason: 'REFUND_EXCEEDS_PAID',
      });
    },
  );

  it('takes a refund on a COMPLETED order', () => {
    applied(change(order('COMPLETED'), 'refund', refund(100)));
  });

  it(`takes at most ${REFUNDS_MAX} refunds`, () => {
    let o = order();
    for (let i = 0; i < REFUNDS_MAX; i++) o = applied(change(o, 'refund', refund(1)));
    expect(change(o, 'refund', refund(1))).toMatchObject({ reason: 'TOO_MANY_REFUNDS' });
  });

  it('a refund event is remembered for the order’s life, not only among the bounded event refs', () => {
    const o = applied(change(order(), 'refund', refund(1), STRICT, { ref: 'refund-1' }));
    expect(isAppliedChangeRef({ ...o, eventRefs: [] }, 'refund-1')).toBe(true);
    expect(isAppliedChangeRef(o, 'refund-2')).toBe(false);
  });
});

describe('change notifications in the outbox', () => {
  it('D-Store changing the order skips pending status notifications but never a refund or pickup code', () => {
    const accepted = applyReport(order('ORDER_SUCCESS'), {
      reported: 'ACCEPTED',
      source: 'pos',
      now: T0,
    }).order;
    const withRefund = applied(change(accepted, 'refund', refund(100)));
    const withCode = applied(change(withRefund, 'short-order-number', { shortOrderNumber: 'A1' }));
    const cancelled = applyReport(withCode, {
      reported: 'CANCELLED',
      source: 'dstore',
      now: T0 + 99,
    });
    const [status, money, code] = cancelled.order.notifications;
    expect(status!.skipped).toBeDefined();
    expect(money!.skipped).toBeUndefined();
    expect(code!.skipped).toBeUndefined();
  });

  it('every notification body is exactly D-Store’s documented fields (a strict parser takes it)', () => {
    let o = order('ACCEPTED', 'DELIVERY');
    o = applied(change(o, 'short-order-number', { shortOrderNumber: 'A17' }));
    o = applied(change(o, 'ready-time', { readyTime: '2026-12-07T12:45:00+08:00' }));
    o = applied(change(o, 'refund', refund(250)));
    o = applied(change(o, 'delivery-status', { deliveryStatus: 'DELIVERING' }));
    const bodies = o.notifications.map((x) => notifyRequestOf(o, x));
    for (const body of bodies)
      expect(() =>
        parseNotifyOrderChangeRequest(Buffer.from(JSON.stringify(body)), {
          unknownFields: 'forbid',
        }),
      ).not.toThrow();
    expect(bodies.map((b) => Object.keys(b).sort())).toEqual([
      ['requestId', 'requestOrderId', 'shortOrderNumber'],
      ['orderReadyTime', 'requestId', 'requestOrderId'],
      ['refundAmount', 'requestId', 'requestOrderId'],
      ['deliveryStatus', 'requestId', 'requestOrderId'],
    ]);
    expect(new Set(bodies.map((b) => b.requestId)).size).toBe(4);
  });

  it('a later delivered notification of the same field supersedes a failed one; a refund never is', () => {
    let o = order();
    o = applied(change(o, 'refund', refund(100)));
    o = applied(change(o, 'short-order-number', { shortOrderNumber: 'A1' }));
    o = applied(change(o, 'short-order-number', { shortOrderNumber: 'A2' }));
    const failed = {
      status: 'failed_final',
      attempts: 1,
      redeliveries: 0,
      updatedAtMs: T0,
    } as const;
    const delivered = {
      status: 'delivered',
      attempts: 1,
      redeliveries: 0,
      updatedAtMs: T0,
    } as const;
    const [r, c1, c2] = o.notifications;
    o = {
      ...o,
      notifications: [
        { ...r!, delivery: { ...failed, lastFailure: { cause: 'ANSWER' } } as never },
        { ...c1!, delivery: { ...failed, lastFailure: { cause: 'ANSWER' } } as never },
        { ...c2!, delivery: delivered as never },
      ],
    };
    expect(pickForRedelivery(o, r!.requestId).requestId).toBe(r!.requestId);
    expect(() => pickForRedelivery(o, c1!.requestId)).toThrow(/later shortOrderNumber/);
  });
});
