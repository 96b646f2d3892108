import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_JSON_DEPTH,
  PRIVATE_RESULT_FIELDS,
  assertPlainJson,
  findCardData,
  redactKiccResult,
  type CardDataMode,
} from './card-data';
import { parseKiccCommandResponse } from './commands';
import { KiccProtocolError } from './errors';
import { ACQUIRER_META_DATA, purchaseResponse, withValue } from './test/fixtures';

const MODES: CardDataMode[] = ['event', 'envelope', 'result'];

function nest(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i += 1) value = { a: value };
  return value;
}

describe('findCardData', () => {
  // [value, event, envelope, result]: the paths refused in each mode
  it.each([
    ['a card number field', { pan: '1' }, ['pan'], ['pan'], ['pan']],
    [
      'a nested card field',
      { a: { Card_Number: 'x' } },
      ['a.Card_Number'],
      ['a.Card_Number'],
      ['a.Card_Number'],
    ],
    ['track data', { t: { track2: ';1234' } }, ['t.track2'], ['t.track2'], ['t.track2']],
    ['a track 2 string', { note: ';5236497912345678=2512' }, ['note'], ['note'], ['note']],
    ['a track 1 string', { note: '%B5236497912345678^DOE/J' }, ['note'], ['note'], ['note']],
    ['a PAN-length digit run', { message: 'card 5236 4979 1234 5678' }, ['message'], [], []],
    ['a long numeric id', { requestId: '12345678901234567' }, ['requestId'], [], []],
    ['a short digit run', { message: 'amount 104' }, [], [], []],
    [
      'acquirerMetaData',
      { acquirerInfo: { acquirerMetaData: 'x' } },
      ['acquirerInfo.acquirerMetaData'],
      ['acquirerInfo.acquirerMetaData'],
      [],
    ],
    ['signData', { signData: 'x' }, ['signData'], ['signData'], []],
    ['paymentMethodId', { paymentMethodId: 'x' }, ['paymentMethodId'], ['paymentMethodId'], []],
    ['a BIN', { cardBin: '52364979' }, [], [], []],
    ['an empty BIN', { cardBin: '' }, [], [], []],
    [
      'a full card number as BIN',
      { cardBin: '5236497912345678' },
      ['cardBin'],
      ['cardBin'],
      ['cardBin'],
    ],
    ['a numeric BIN', { cardBin: 52364979 }, ['cardBin'], ['cardBin'], ['cardBin']],
    [
      'an array of card fields',
      { list: [{ cvv: '1' }] },
      ['list[0].cvv'],
      ['list[0].cvv'],
      ['list[0].cvv'],
    ],
  ])('%s', (_label, value, event, envelope, result) => {
    expect(findCardData(value, 'event').sort()).toEqual([...event].sort());
    expect(findCardData(value, 'envelope').sort()).toEqual([...envelope].sort());
    expect(findCardData(value, 'result').sort()).toEqual([...result].sort());
  });

  it('refuses what is nested too deep to inspect', () => {
    expect(findCardData(nest(MAX_JSON_DEPTH - 1), 'result')).toEqual([]);
    expect(findCardData(nest(MAX_JSON_DEPTH + 1), 'result')).toHaveLength(1);
  });

  it.each(MODES)(
    'accepts the seed Purchase response in %s mode only where private fields may go',
    (mode) => {
      const paths = findCardData(purchaseResponse(), mode);
      expect(paths).toEqual(
        mode === 'result'
          ? []
          : ['paymentResultInfo.paymentMethodId', 'acquirerInfo.acquirerMetaData'],
      );
    },
  );
});

describe('assertPlainJson', () => {
  it.each([
    ['a __proto__ key', JSON.parse('{"a":{"__proto__":{"x":1}}}') as unknown],
    ['a constructor key', { constructor: 1 }],
    ['deep nesting', nest(MAX_JSON_DEPTH + 1)],
  ])('refuses %s', (_label, value) => {
    expect(() => assertPlainJson(value)).toThrow(KiccProtocolError);
  });

  it('accepts ordinary JSON', () => {
    expect(() => assertPlainJson(purchaseResponse())).not.toThrow();
  });
});

describe('redactKiccResult', () => {
  it('removes the private fields and keeps the BIN', () => {
    const parsed = parseKiccCommandResponse(
      'Purchase',
      withValue(
        withValue(purchaseResponse(), 'acquirerInfo.signData', 'c2lnbmF0dXJl'),
        'paymentResultInfo.paymentMethodId',
        '281234567890',
      ),
    );
    const redacted = redactKiccResult(parsed);
    expect(redacted.acquirerInfo).not.toHaveProperty('acquirerMetaData');
    expect(redacted.acquirerInfo).not.toHaveProperty('signData');
    expect(redacted.paymentResultInfo).not.toHaveProperty('paymentMethodId');
    expect(redacted.paymentResultInfo.cardBin).toBe('52364979');
    expect(redacted.acquirerInfo.acquirerApprovalNum).toBe('16263485');
    const text = JSON.stringify(redacted);
    for (const secret of [ACQUIRER_META_DATA, 'c2lnbmF0dXJl', '281234567890'])
      expect(text).not.toContain(secret);
  });

  it('drops a cardBin that is not a BIN and masks card numbers in free text', () => {
    const input = {
      paymentResultInfo: { cardBin: '5236497912345678' },
      acquirerInfo: {
        notice: 'card 5236-4979-1234-5678 ok',
        acquirerTransactionId: '12345678901234',
      },
      result: { resultMessage: 'track ;5236497912345678=2512 seen' },
    };
    expect(redactKiccResult(input)).toEqual({
      paymentResultInfo: {},
      acquirerInfo: { notice: 'card [redacted] ok', acquirerTransactionId: '12345678901234' },
      result: { resultMessage: 'track [redacted] seen' },
    });
  });

  it('never lets a private field through, at any depth', () => {
    fc.assert(
      fc.property(
        fc.json(),
        fc.constantFrom(...PRIVATE_RESULT_FIELDS),
        fc.string({ minLength: 1 }),
        (text, key, secret) => {
          const value = {
            wrapper: [JSON.parse(text) as unknown, { [key]: secret }],
            [key]: secret,
          };
          const redacted = redactKiccResult(value) as Record<string, unknown>;
          expect(key in redacted).toBe(false);
          expect(findCardData(redacted, 'envelope').filter((path) => path.endsWith(key))).toEqual(
            [],
          );
        },
      ),
    );
  });
});
