import fc from 'fast-check';
import { orderSubjectToken, POS_CHANGE_KINDS } from '@tillbus/contracts';
import { PermanentError } from '@tillbus/messaging';
import { describe, expect, it } from 'vitest';
import { parseLifecycleMessage } from './lifecycle-event';

const subject = (kind: string, id = 'o-1') =>
  `tillbus.events.orders.${kind}.${orderSubjectToken(id)}`;

const VALID = {
  'short-order-number': { shortOrderNumber: 'A17' },
  'ready-time': { readyTime: '2026-12-07T12:45:00+08:00' },
  refund: { refundAmount: { value: 250, currency: 'SGD' }, reason: 'cold fries' },
  'delivery-status': { deliveryStatus: 'DELIVERING' },
} as const;

describe('POS change events (our own contract, strict)', () => {
  it.each(Object.keys(VALID) as Array<keyof typeof VALID>)(
    'reads a %s event into exactly its one change',
    (kind) => {
      const parsed = parseLifecycleMessage(subject(kind), {
        requestOrderId: 'o-1',
        eventId: 'e-1',
        requestedBy: 'till-3',
        ...VALID[kind],
      });
      expect(parsed.type).toBe('change');
      if (parsed.type !== 'change') return;
      const field = POS_CHANGE_KINDS[kind];
      expect(Object.keys(parsed.event.change)).toEqual([field]);
      expect(parsed.event.change).toEqual({
        [field]: (VALID[kind] as Record<string, unknown>)[field],
      });
      expect(parsed.event).toMatchObject({
        requestOrderId: 'o-1',
        eventId: 'e-1',
        requestedBy: 'till-3',
      });
    },
  );

  it.each<[string, string, Record<string, unknown>, RegExp]>([
    [
      'a refund without requestedBy',
      'refund',
      { refundAmount: { value: 1, currency: 'SGD' } },
      /requestedBy/,
    ],
    [
      'a refund of nothing',
      'refund',
      { requestedBy: 'a', refundAmount: { value: 0, currency: 'SGD' } },
      /value/,
    ],
    [
      'a refund in decimals',
      'refund',
      { requestedBy: 'a', refundAmount: { value: 2.5, currency: 'SGD' } },
      /value/,
    ],
    [
      'a refund beyond D-Store’s range',
      'refund',
      { requestedBy: 'a', refundAmount: { value: 2 ** 31, currency: 'SGD' } },
      /value/,
    ],
    [
      'a refund in a lower-case currency',
      'refund',
      { requestedBy: 'a', refundAmount: { value: 1, currency: 'sgd' } },
      /currency/,
    ],
    ['a refund as a number', 'refund', { requestedBy: 'a', refundAmount: 5 }, /refundAmount/],
    [
      'an unknown field in the amount',
      'refund',
      { requestedBy: 'a', refundAmount: { value: 1, currency: 'SGD', x: 1 } },
      /x should not exist/,
    ],
    [
      'a ready time without a zone',
      'ready-time',
      { readyTime: '2026-12-07T12:45:00' },
      /time zone/,
    ],
    ['a ready time that is not a time', 'ready-time', { readyTime: 'soon' }, /readyTime/],
    ['an empty pickup code', 'short-order-number', { shortOrderNumber: '' }, /shortOrderNumber/],
    [
      'a pickup code over 255 characters',
      'short-order-number',
      { shortOrderNumber: 'x'.repeat(256) },
      /shortOrderNumber/,
    ],
    [
      'a lower-case delivery status',
      'delivery-status',
      { deliveryStatus: 'delivering' },
      /deliveryStatus/,
    ],
    [
      'another kind’s field',
      'short-order-number',
      { shortOrderNumber: 'A1', deliveryStatus: 'X' },
      /deliveryStatus should not exist/,
    ],
    [
      'extendInfo (D-Store has no field for it here)',
      'refund',
      { requestedBy: 'a', refundAmount: { value: 1, currency: 'SGD' }, extendInfo: {} },
      /extendInfo should not exist/,
    ],
    [
      'a requestedBy with spaces',
      'short-order-number',
      { shortOrderNumber: 'A1', requestedBy: 'a b' },
      /requestedBy/,
    ],
  ])('refuses %s as a permanent failure', (_what, kind, body, message) => {
    const run = () => parseLifecycleMessage(subject(kind), { requestOrderId: 'o-1', ...body });
    expect(run).toThrow(PermanentError);
    expect(run).toThrow(message);
  });

  it('refuses a change whose subject token is another order’s', () => {
    expect(() =>
      parseLifecycleMessage(subject('short-order-number', 'other'), {
        requestOrderId: 'o-1',
        shortOrderNumber: 'A1',
      }),
    ).toThrow(/not the order token/);
  });

  it('never throws anything but PermanentError, whatever arrives', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(POS_CHANGE_KINDS)),
        fc.oneof(
          fc.anything(),
          fc.record(
            {
              requestOrderId: fc.constant('o-1'),
              requestedBy: fc.anything(),
              refundAmount: fc.anything(),
              readyTime: fc.anything(),
              shortOrderNumber: fc.anything(),
              deliveryStatus: fc.anything(),
            },
            { requiredKeys: ['requestOrderId'] },
          ),
        ),
        (kind, body) => {
          try {
            parseLifecycleMessage(subject(kind), body);
          } catch (error) {
            expect(error).toBeInstanceOf(PermanentError);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
