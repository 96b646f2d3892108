import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IntellaProtocolError } from './errors';
import { EASYCARD_MAX_TRIES, planEasyCardRetry } from './retry';

const REQUEST = { DeviceId: '12341234', Retry: '0' };

describe('planEasyCardRetry', () => {
  it('resends the same ServiceType with Retry as returned', () => {
    expect(
      planEasyCardRetry({
        serviceType: 'SignOn',
        requestData: REQUEST,
        responseData: { DeviceID: '0220131329', Retry: '1', ErrorCode: '000125' },
        triesSoFar: 1,
      }),
    ).toEqual({
      kind: 'RETRY',
      serviceType: 'SignOn',
      data: { DeviceId: '12341234', Retry: '1' },
      attempt: 2,
    });
  });

  it('takes the values the failed answer returned for the request fields, by exact name', () => {
    expect(
      planEasyCardRetry({
        serviceType: 'Settlement',
        requestData: { DeviceId: '12341234', Batch: '7', Retry: '0' },
        responseData: { Batch: '8', DeviceID: 'other', Retry: 2 },
        triesSoFar: 2,
      }),
    ).toEqual({
      kind: 'RETRY',
      serviceType: 'Settlement',
      data: { DeviceId: '12341234', Batch: '8', Retry: '2' },
      attempt: 3,
    });
  });

  it.each([[{ Retry: '0' }], [{ Retry: 0 }], [{}], [null], [{ Retry: '' }], [{ Retry: '00' }]])(
    'no retry is asked for by %j',
    (responseData) => {
      expect(
        planEasyCardRetry({
          serviceType: 'SignOn',
          requestData: REQUEST,
          responseData,
          triesSoFar: 1,
        }),
      ).toEqual({
        kind: 'NO_RETRY_REQUESTED',
      });
    },
  );

  it('stops after 3 tries with a typed result', () => {
    expect(EASYCARD_MAX_TRIES).toBe(3);
    expect(
      planEasyCardRetry({
        serviceType: 'SignOn',
        requestData: REQUEST,
        responseData: { Retry: '3' },
        triesSoFar: 3,
      }),
    ).toEqual({ kind: 'RETRY_LIMIT_REACHED', tries: 3, retry: '3' });
    expect(
      planEasyCardRetry({
        serviceType: 'SignOn',
        requestData: REQUEST,
        responseData: { Retry: '1' },
        triesSoFar: 1,
        maxTries: 1,
      }).kind,
    ).toBe('RETRY_LIMIT_REACHED');
  });

  it('a full cycle sends at most 3 requests', () => {
    let tries = 1;
    let data: Record<string, unknown> = REQUEST;
    for (;;) {
      const decision = planEasyCardRetry({
        serviceType: 'SignOn',
        requestData: data,
        responseData: { Retry: String(tries) },
        triesSoFar: tries,
      });
      if (decision.kind !== 'RETRY') {
        expect(decision).toEqual({ kind: 'RETRY_LIMIT_REACHED', tries: 3, retry: '3' });
        break;
      }
      data = decision.data;
      tries = decision.attempt;
    }
    expect(tries).toBe(3);
  });

  it.each([
    [{ Retry: 'x' }],
    [{ Retry: '-1' }],
    [{ Retry: 1.5 }],
    [{ Retry: true }],
    [{ Retry: {} }],
  ])('refuses a malformed Retry %j with SCHEMA_INVALID', (responseData) => {
    expect(() =>
      planEasyCardRetry({
        serviceType: 'SignOn',
        requestData: REQUEST,
        responseData,
        triesSoFar: 1,
      }),
    ).toThrow(IntellaProtocolError);
  });

  it.each([[0], [-1], [1.5], [Number.NaN]])('refuses triesSoFar %s', (triesSoFar) => {
    expect(() =>
      planEasyCardRetry({
        serviceType: 'SignOn',
        requestData: REQUEST,
        responseData: { Retry: '1' },
        triesSoFar,
      }),
    ).toThrow(IntellaProtocolError);
  });

  it('returns a decision or throws IntellaProtocolError for any answer', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.jsonValue()),
        fc.oneof(fc.constant(null), fc.dictionary(fc.string(), fc.anything())),
        fc.integer({ min: 1, max: 5 }),
        (requestData, responseData, triesSoFar) => {
          try {
            const decision = planEasyCardRetry({
              serviceType: 'SignOn',
              requestData,
              responseData,
              triesSoFar,
            });
            if (decision.kind === 'RETRY') {
              expect(decision.attempt).toBe(triesSoFar + 1);
              expect(decision.attempt).toBeLessThanOrEqual(EASYCARD_MAX_TRIES);
              expect(decision.data.Retry).toMatch(/^\d+$/);
            }
          } catch (error) {
            expect(error).toBeInstanceOf(IntellaProtocolError);
          }
        },
      ),
    );
  });
});
