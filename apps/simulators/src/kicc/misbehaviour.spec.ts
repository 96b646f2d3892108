import { describe, expect, it } from 'vitest';
import { BRIDGE_MISBEHAVIOUR_LIST, Misbehaviours, SeqShuffler } from './misbehaviour';

describe('misbehaving bridge modes', () => {
  it('refuses a mode it does not know, naming the ones it does', () => {
    expect(() => new Misbehaviours(['rude' as never])).toThrow(
      /unknown misbehaviour rude; one of wrong-version/,
    );
    expect(new Misbehaviours(undefined).any).toBe(false);
    expect(BRIDGE_MISBEHAVIOUR_LIST).toContain('leak-card-data');
  });

  it('changes nothing without a mode: the message keeps going through the codec', () => {
    const none = new Misbehaviours([]);
    expect(none.outgoing({ type: 'event', sentAt: 1, body: { code: 'READY' } })).toBeNull();
    expect(none.ackDelayMs()).toBe(0);
    expect(none.reportsEvent('PENDING_SIGNATURE')).toBe(true);
  });

  it('breaks the rule of its mode only', () => {
    const result = {
      type: 'result',
      commandName: 'Purchase',
      sentAt: 1,
      body: {
        callback: 'onSuccess',
        responseData: {
          acquirerInfo: { acquirerMetaData: 'x' },
          paymentResultInfo: { cardBin: '52364979' },
        },
      },
    };
    const leaked = new Misbehaviours(['leak-card-data']).outgoing(result) as typeof result;
    expect(
      (leaked.body.responseData.paymentResultInfo as Record<string, unknown>).cardNumber,
    ).toMatch(/^\d{16}$/);
    expect(leaked.body.responseData.acquirerInfo.acquirerMetaData).toBe('x');
    expect(result.body.responseData.paymentResultInfo).toEqual({ cardBin: '52364979' });
    const stripped = new Misbehaviours(['bad-purchase-result']).outgoing(result) as typeof result;
    expect(stripped.body.responseData.acquirerInfo).toEqual({});
    expect(
      new Misbehaviours(['bad-envelope']).outgoing({ type: 'event', sentAt: 0, body: {} }),
    ).toMatchObject({
      sentAt: '1970-01-01T00:00:00.000Z',
    });
  });

  it('out-of-order-seq holds seq 2 of an event until seq 3 went out; a result is never held', () => {
    const shuffler = new SeqShuffler<{ seq: number; type: string }>();
    const m = (seq: number, type = 'event') => ({ seq, type });
    expect(shuffler.order('r', m(1), true)).toEqual([m(1)]);
    expect(shuffler.order('r', m(2), true)).toEqual([]);
    expect(shuffler.order('r', m(3, 'result'), true)).toEqual([m(3, 'result'), m(2)]);
    expect(shuffler.order('q', m(2, 'result'), true)).toEqual([m(2, 'result')]);
    expect(shuffler.order('p', m(2), false)).toEqual([m(2)]);
  });
});
