import { parseCreateOrderRequest } from '@tillbus/protocols-antom';
import {
  DSTORE_ORDER_STATUS_NAMES,
  NOTIFY_ORDER_CHANGE_STATUSES,
  ORDER_JOURNEY_NEXT,
  deliveryTransition,
  type DStoreOrderStatus,
} from '@tillbus/result-codes';
import { describe, expect, it } from 'vitest';
import {
  ORDER_LIMITS,
  applyReport,
  deliveryHead,
  fingerprintOf,
  isSettled,
  newOrderRecord,
  notificationRequestId,
  posOrderIdFor,
  stuckReasons,
  withEventRef,
  withNotification,
  type OrderRecord,
} from './order-record';

const T0 = 1_700_000_000_000;

function order(status: DStoreOrderStatus = 'ORDER_SUCCESS'): OrderRecord {
  const base = newOrderRecord(
    parseCreateOrderRequest({
      orderChannel: 'FOODPANDA',
      serviceType: 'PICKUP',
      requestOrderId: 'pds_1',
      posAccountId: 'a',
      posStoreId: 's',
      channelOrderId: 'c',
      expectFulfillmentTime: '2026-12-07T12:30:00+08:00',
      orderProducts: [{ sku: 'x', constructor: 'kept' }],
      orderAmount: { value: 100, currency: 'TWD' },
    }),
    T0,
  );
  return { ...base, status };
}

const pairs = DSTORE_ORDER_STATUS_NAMES.flatMap((from) =>
  DSTORE_ORDER_STATUS_NAMES.map((to) => [from, to] as const),
);

describe('a new order', () => {
  it('starts as ORDER_SUCCESS with a stable posOrderId, history and the products kept as sent', () => {
    const o = order();
    expect(o).toMatchObject({
      status: 'ORDER_SUCCESS',
      posOrderId: posOrderIdFor('pds_1'),
      history: [{ status: 'ORDER_SUCCESS', source: 'dstore', atMs: T0 }],
      notifications: [],
    });
    expect(o.details.orderProducts).toEqual([{ sku: 'x', constructor: 'kept' }]);
    expect(o.posOrderId).toMatch(/^tb-[0-9a-f]{24}$/);
    expect(o.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it('fingerprints content, not key order', () => {
    const details = order().details;
    const reordered = Object.fromEntries(Object.entries(details).reverse()) as typeof details;
    expect(fingerprintOf('o-1', reordered)).toBe(fingerprintOf('o-1', details));
    expect(fingerprintOf('o-2', details)).not.toBe(fingerprintOf('o-1', details));
  });
});

describe('applyReport follows the order journey table', () => {
  it.each(pairs)('%s -> %s reported by the POS', (from, to) => {
    const result = applyReport(order(from), {
      reported: to,
      source: 'pos',
      now: T0 + 1,
      ref: 'e1',
    });
    if (from === to) {
      expect(result.outcome).toBe('DUPLICATE');
      expect(result.order).toEqual(order(from));
      return;
    }
    if (ORDER_JOURNEY_NEXT[from].includes(to)) {
      expect(result.outcome).toBe('ADVANCED');
      expect(result.order.status).toBe(to);
      expect(result.order.history.at(-1)).toEqual({
        status: to,
        source: 'pos',
        atMs: T0 + 1,
        ref: 'e1',
      });
      const notifiable = (NOTIFY_ORDER_CHANGE_STATUSES as readonly string[]).includes(to);
      expect(result.order.notifications).toHaveLength(notifiable ? 1 : 0);
      if (notifiable && result.outcome === 'ADVANCED') {
        expect(result.notification).toMatchObject({
          seq: 1,
          orderStatus: to,
          requestId: notificationRequestId('pds_1', 1),
          delivery: { status: 'pending', attempts: 0 },
        });
      }
      return;
    }
    expect(result.outcome).toBe('REFUSED');
    expect(result.order.status).toBe(from);
    expect(result.order.refused.at(-1)).toMatchObject({
      reported: to,
      current: from,
      source: 'pos',
    });
  });

  it('a change reported by D-Store never queues a notification and skips those not yet sent', () => {
    const ready = applyReport(order(), { reported: 'READY', source: 'pos', now: T0 + 1 });
    if (ready.outcome !== 'ADVANCED') throw new Error('expected ADVANCED');
    const cancelled = applyReport(ready.order, {
      reported: 'CANCELLED',
      source: 'dstore',
      now: T0 + 2,
    });
    expect(cancelled.order.notifications).toHaveLength(1);
    expect(cancelled.order.notifications[0].skipped).toEqual({
      reason: 'D-Store itself moved the order to CANCELLED',
      atMs: T0 + 2,
    });
    expect(isSettled(cancelled.order.notifications[0])).toBe(true);
    expect(deliveryHead(cancelled.order)).toBeUndefined();
  });

  it('keeps the lists bounded', () => {
    let o = order('CANCELLED');
    for (let i = 0; i < 100; i++) {
      o = applyReport(o, { reported: 'READY', source: 'pos', now: T0 + i, ref: `r${i}` }).order;
      o = withEventRef(o, `r${i}`);
    }
    expect(o.refused).toHaveLength(ORDER_LIMITS.refused);
    expect(o.refused.at(-1)?.ref).toBe('r99');
    expect(o.eventRefs).toHaveLength(ORDER_LIMITS.eventRefs);
  });
});

describe('the notification queue', () => {
  function withTwo() {
    let o = order();
    o = applyReport(o, { reported: 'ACCEPTED', source: 'pos', now: T0 + 1 }).order;
    o = applyReport(o, { reported: 'READY', source: 'pos', now: T0 + 2 }).order;
    return o;
  }

  it('the head is the earliest unsettled notification', () => {
    const o = withTwo();
    expect(deliveryHead(o)?.orderStatus).toBe('ACCEPTED');
    const first = o.notifications[0];
    const delivered = withNotification(o, first.requestId, (n) => ({
      ...n,
      delivery: deliveryTransition(n.delivery, {
        type: 'ANSWERED',
        now: T0 + 3,
        result: { resultStatus: 'S', resultCode: 'SUCCESS' },
      }).state,
    }));
    expect(deliveryHead(delivered)?.orderStatus).toBe('READY');
  });

  it('stuck: not final and old, or undelivered (failed at any age, queued when old)', () => {
    const fresh = withTwo();
    expect(stuckReasons(fresh, T0 + 10, 60_000)).toEqual([]);
    expect(stuckReasons(fresh, T0 + 60_000, 60_000)).toEqual(['NOT_FINAL']);
    expect(stuckReasons(fresh, T0 + 60_002, 60_000)).toEqual(['NOT_FINAL', 'UNDELIVERED']);
    const failed = withNotification(fresh, fresh.notifications[0].requestId, (n) => ({
      ...n,
      delivery: deliveryTransition(n.delivery, {
        type: 'ANSWERED',
        now: T0 + 3,
        result: { resultStatus: 'F', resultCode: 'PROCESS_FAIL' },
      }).state,
    }));
    expect(stuckReasons(failed, T0 + 10, 60_000)).toEqual(['UNDELIVERED']);
  });
});
