import { describe, expect, it } from 'vitest';
import { block, cellText, duration, money, relative, table } from './format';

describe('table', () => {
  it('aligns columns, right-aligns numbers, and shows empty cells as -', () => {
    const rows = [
      { id: 'antom-1', status: 'READY', n: 3 },
      { id: 'adyen-P400-12', status: null, n: 12 },
    ];
    expect(
      table(rows, [
        { header: 'TERMINAL', value: (r) => r.id },
        { header: 'STATUS', value: (r) => r.status },
        { header: 'N', value: (r) => r.n, right: true },
      ]),
    ).toBe(
      ['TERMINAL       STATUS   N', 'antom-1        READY    3', 'adyen-P400-12  -       12'].join(
        '\n',
      ),
    );
  });

  it('prints only the header for no rows', () => {
    expect(table([], [{ header: 'A', value: () => 1 }])).toBe('A');
  });
});

describe('cells and blocks', () => {
  it.each([
    [null, '-'],
    ['', '-'],
    [[], '-'],
    [['A', 'B'], 'A, B'],
    [{ a: 1 }, '{"a":1}'],
    ['two\nlines', 'two lines'],
    [false, 'false'],
  ])('%j -> %s', (value, text) => {
    expect(cellText(value)).toBe(text);
  });

  it('aligns keys and leaves out undefined values', () => {
    expect(
      block([
        ['status', 'READY'],
        ['reasons', []],
        ['skipped', undefined],
      ]),
    ).toBe('status:  READY\nreasons: -');
  });
});

describe('times and amounts', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  it.each([
    ['2026-01-01T11:59:48Z', '12 s ago'],
    ['2026-01-01T15:20:00Z', 'in 3 h 20 min'],
    [now - 500, '500 ms ago'],
    [now + 90_000, 'in 1 min 30 s'],
    ['not a date', 'not a date'],
    [null, '-'],
  ])('%s is %s', (at, text) => {
    expect(relative(at, now)).toBe(text);
  });

  it('writes long durations in days', () => {
    expect(duration(30 * 3_600_000)).toBe('30 h');
    expect(duration(72 * 3_600_000)).toBe('3 d 0 h');
  });

  it.each([
    ['15000', 'KRW', '15,000 KRW'],
    [1250, 'SGD', '12.50 SGD'],
    [undefined, 'KRW', '-'],
    ['x', 'KRW', 'x KRW'],
  ])('money(%j, %s) = %s', (value, currency, text) => {
    expect(money(value, currency)).toBe(text);
  });
});
