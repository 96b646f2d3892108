import fc from 'fast-check';
import { orderSubjectToken } from '@tillbus/contracts';
import { PermanentError } from '@tillbus/messaging';
import { POS_LIFECYCLE_KINDS } from '@tillbus/result-codes';
import { describe, expect, it } from 'vitest';
import { parseLifecycleMessage } from './lifecycle-event';

const subject = (kind: string, id: string) =>
  `tillbus.events.orders.${kind}.${orderSubjectToken(id)}`;

describe('parseLifecycleMessage', () => {
  it.each(Object.keys(POS_LIFECYCLE_KINDS))('reads a %s event', (kind) => {
    const parsed = parseLifecycleMessage(subject(kind, 'o-1'), {
      requestOrderId: 'o-1',
      eventId: 'e-1',
      occurredAt: '2024-05-28T04:12:12.345Z',
      extendInfo: { pickupCode: '42', constructor: 'kept' },
    });
    expect(parsed).toEqual({
      type: 'lifecycle',
      kind,
      event: expect.objectContaining({
        requestOrderId: 'o-1',
        eventId: 'e-1',
        extendInfo: { pickupCode: '42', constructor: 'kept' },
      }),
    });
  });

  it.each(['created', 'channel-changed', 'notify'])('skips our own %s messages', (kind) => {
    expect(parseLifecycleMessage(subject(kind, 'o-1'), { anything: true })).toEqual({
      type: 'ignored',
      kind,
    });
  });

  it('accepts an order id that needed hashing, under its token', () => {
    const id = 'order with spaces.and.dots';
    expect(parseLifecycleMessage(subject('ready', id), { requestOrderId: id }).type).toBe(
      'lifecycle',
    );
  });

  it.each<[string, string, unknown, RegExp]>([
    [
      'unknown kind',
      subject('shipped', 'o'),
      { requestOrderId: 'o' },
      /unknown order event kind "shipped"/,
    ],
    [
      'short subject',
      'tillbus.events.orders.ready',
      { requestOrderId: 'o' },
      /not tillbus\.events\.orders/,
    ],
    ['not an object', subject('ready', 'o'), [1], /JSON object/],
    ['missing id', subject('ready', 'o'), {}, /requestOrderId/],
    [
      'unknown field',
      subject('ready', 'o'),
      { requestOrderId: 'o', x: 1 },
      /property x should not exist/,
    ],
    ['bad time', subject('ready', 'o'), { requestOrderId: 'o', occurredAt: 'noon' }, /occurredAt/],
    [
      'bad eventId',
      subject('ready', 'o'),
      { requestOrderId: 'o', eventId: 'has space' },
      /eventId/,
    ],
    [
      'big extendInfo',
      subject('ready', 'o'),
      { requestOrderId: 'o', extendInfo: 'x'.repeat(2049) },
      /extendInfo/,
    ],
    [
      'array extendInfo',
      subject('ready', 'o'),
      { requestOrderId: 'o', extendInfo: [] },
      /extendInfo/,
    ],
    [
      'token of another order',
      subject('ready', 'other'),
      { requestOrderId: 'o' },
      /not the order token/,
    ],
  ])('refuses %s as a permanent failure', (_what, subj, body, message) => {
    expect(() => parseLifecycleMessage(subj, body)).toThrow(PermanentError);
    expect(() => parseLifecycleMessage(subj, body)).toThrow(message);
  });

  it('never throws anything but PermanentError, whatever arrives', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.constantFrom(...Object.keys(POS_LIFECYCLE_KINDS), 'created'), fc.string()),
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.oneof(
          fc.anything(),
          fc.record({ requestOrderId: fc.string(), extendInfo: fc.anything() }),
        ),
        (kind, id, body) => {
          try {
            parseLifecycleMessage(`tillbus.events.orders.${kind}.${orderSubjectToken(id)}`, body);
          } catch (error) {
            expect(error).toBeInstanceOf(PermanentError);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
