import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AntomProtocolError } from './errors';
import { formatRequestTime, parseRequestTime } from './time';

const MS = Date.UTC(2024, 4, 28, 4, 12, 12, 345); // 2024-05-28T04:12:12.345Z

describe('parseRequestTime', () => {
  it.each([
    ['1716869532345', MS],
    ['0', 0],
    ['2024-05-28T12:12:12.345+08:00', MS],
    ['2024-05-28T12:12:12.345+0800', MS],
    ['2024-05-28T04:12:12.345Z', MS],
    ['2024-05-27T23:12:12.345-05:00', MS],
    ['2024-05-28T12:12:12+08:00', MS - 345],
    ['2024-05-28T12:12:12.3+08:00', MS - 45],
    ['2024-05-28T12:12:12.345999+08:00', MS],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
  ])('reads %s', (text, expected) => {
    expect(parseRequestTime(text)).toBe(expected);
  });

  it.each([
    '',
    ' 1716869532345',
    '1716869532345.5',
    '-1716869532345',
    '1234567890123456',
    '2024-05-28T12:12:12.345',
    '2024-05-28 12:12:12+08:00',
    '2024-13-28T12:12:12+08:00',
    '2023-02-29T12:12:12+08:00',
    '2024-05-28T24:00:00+08:00',
    '2024-05-28T12:60:00+08:00',
    '2024-05-28T12:00:60+08:00',
    '2024-05-28T12:00:00+08:60',
    '2024-05-28T12:00:00.+08:00',
    '2024-05-28t12:00:00z',
  ])('refuses %j with BAD_TIME_FORMAT', (text) => {
    expect(() => parseRequestTime(text)).toThrow(
      expect.objectContaining({ code: 'BAD_TIME_FORMAT' }),
    );
  });

  it('refuses non-strings', () => {
    for (const value of [undefined, null, 1716869532345, {}, []]) {
      expect(() => parseRequestTime(value)).toThrow(AntomProtocolError);
    }
  });

  it('only returns or throws AntomProtocolError, whatever the input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.anything()), (value) => {
        try {
          return Number.isFinite(parseRequestTime(value));
        } catch (error) {
          return error instanceof AntomProtocolError && error.code === 'BAD_TIME_FORMAT';
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('formatRequestTime', () => {
  it.each([
    [{}, '1716869532345'],
    [{ format: 'epoch-millis' as const }, '1716869532345'],
    [{ format: 'iso' as const }, '2024-05-28T04:12:12.345+00:00'],
    [{ format: 'iso' as const, offsetMinutes: 480 }, '2024-05-28T12:12:12.345+08:00'],
    [{ format: 'iso' as const, offsetMinutes: -330 }, '2024-05-27T22:42:12.345-05:30'],
  ])('formats with %j as %s', (options, text) => {
    expect(formatRequestTime(MS, options)).toBe(text);
  });

  it.each([
    [-1, {}],
    [1.5, {}],
    [Number.NaN, {}],
    [MS, { format: 'iso' as const, offsetMinutes: 24 * 60 }],
    [MS, { format: 'iso' as const, offsetMinutes: 0.5 }],
  ])('refuses %s with %j', (ms, options) => {
    expect(() => formatRequestTime(ms, options)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  it('parse(format(x)) is x for both formats and any offset', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 253_402_214_400_000 }),
        fc.constantFrom('epoch-millis' as const, 'iso' as const),
        fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }),
        (ms, format, offsetMinutes) =>
          parseRequestTime(formatRequestTime(ms, { format, offsetMinutes })) === ms,
      ),
      { numRuns: 2000 },
    );
  });
});
