import { Type } from 'class-transformer';
import { IsInt, IsString, MaxLength, ValidateNested } from 'class-validator';
import { describe, expect, it } from 'vitest';
import { describeViolations, validatePlain } from './validate';

class Amount {
  @IsInt() value!: number;
  @IsString() @MaxLength(3) currency!: string;
}
class Order {
  @IsString() @MaxLength(8) id!: string;
  @ValidateNested() @Type(() => Amount) amount!: Amount;
}

describe('validatePlain', () => {
  it('returns a typed instance for a valid object', () => {
    const r = validatePlain(Order, { id: 'o-1', amount: { value: 100, currency: 'KRW' } });
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.value).toBeInstanceOf(Order);
      expect(r.value.amount).toBeInstanceOf(Amount);
    }
  });

  it('names every failing field with its nested path', () => {
    const r = validatePlain(Order, {
      id: 'far-too-long-id',
      amount: { value: 1.5, currency: 'KRWX' },
    });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.violations.map((v) => v.field).sort()).toEqual([
        'amount.currency',
        'amount.value',
        'id',
      ]);
      expect(describeViolations(r.violations)).toMatch(
        /amount\.value: value must be an integer number/,
      );
    }
  });

  it('refuses unknown fields by default and can strip them instead', () => {
    const strict = validatePlain(Order, {
      id: 'a',
      amount: { value: 1, currency: 'KRW' },
      extra: 1,
    });
    expect(strict.ok).toBe(false);
    if (!strict.ok)
      expect(strict.violations[0]).toEqual({
        field: 'extra',
        problems: ['property extra should not exist'],
      });
    const lenient = validatePlain(
      Order,
      { id: 'a', amount: { value: 1, currency: 'KRW' }, extra: 1 },
      { forbidUnknown: false, stripUnknown: true },
    );
    expect(lenient.ok && 'extra' in lenient.value).toBe(false);
  });

  it.each([null, 42, 'text', [1, 2], undefined])(
    'refuses a non-object root (%s) without throwing',
    (input) => {
      const r = validatePlain(Order, input, { root: 'payload' });
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.violations[0].field).toBe('payload');
    },
  );
});
