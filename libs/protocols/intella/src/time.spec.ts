import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { IntellaProtocolError } from './errors';
import { formatCreateTime, parseIntellaTime } from './time';

const originalTz = process.env.TZ;
afterEach(() => {
  process.env.TZ = originalTz;
});

// read with a local-time API, to prove the TZ switch took effect
function localHour(date: Date): number {
  return date.getHours();
}

describe('formatCreateTime', () => {
  const instant = new Date(Date.UTC(2017, 7, 30, 11, 20, 40)); // 19:20:40 in Taipei, as in the seed example

  it.each([
    ['UTC', 11],
    ['Asia/Taipei', 19],
    ['America/Los_Angeles', 4],
    ['Pacific/Kiritimati', 1],
    ['Pacific/Pago_Pago', 0],
    ['Asia/Kolkata', 16],
  ])('is Taiwan time under TZ=%s', (zone, hourInZone) => {
    process.env.TZ = zone;
    expect(localHour(instant)).toBe(hourInZone);
    expect(formatCreateTime(instant)).toBe('20170830192040');
  });

  it.each([
    [Date.UTC(2023, 11, 31, 16, 0, 0), '20240101000000'],
    [Date.UTC(2023, 11, 31, 15, 59, 59), '20231231235959'],
    [Date.UTC(2024, 1, 28, 16, 0, 0), '20240229000000'],
    [Date.UTC(1970, 0, 1, 0, 0, 0), '19700101080000'],
    [Date.UTC(2024, 5, 1, 12, 0, 0, 999), '20240601200000'],
  ])('formats %s as %s', (epoch, text) => {
    expect(formatCreateTime(new Date(epoch))).toBe(text);
  });

  it.each([
    [new Date(Number.NaN)],
    ['2024-01-01' as unknown as Date],
    [new Date(Date.UTC(9999, 11, 31, 16))],
  ])('refuses %s with INVALID_TIME', (value) => {
    expect(() => formatCreateTime(value)).toThrow(IntellaProtocolError);
    try {
      formatCreateTime(value);
    } catch (error) {
      expect((error as IntellaProtocolError).code).toBe('INVALID_TIME');
    }
  });
});

describe('parseIntellaTime', () => {
  it('reads the seed ResponseTime as Taiwan time', () => {
    expect(parseIntellaTime('20170830192043').toISOString()).toBe('2017-08-30T11:20:43.000Z');
  });

  it.each([
    ['20240230120000'],
    ['20241301000000'],
    ['20240101240000'],
    ['20240101006000'],
    ['2024010100000'],
    [''],
  ])('refuses %s', (text) => {
    expect(() => parseIntellaTime(text)).toThrow(IntellaProtocolError);
  });

  const seconds = fc
    .date({
      min: new Date('0001-01-01T00:00:00Z'),
      max: new Date('9999-12-31T15:59:59Z'),
      noInvalidDate: true,
    })
    .map((date) => new Date(Math.floor(date.getTime() / 1000) * 1000));

  it('parse(format(date)) is the date, to the second', () => {
    fc.assert(
      fc.property(seconds, (date) => {
        expect(parseIntellaTime(formatCreateTime(date)).getTime()).toBe(date.getTime());
      }),
    );
  });

  it('format(parse(text)) is the text for every valid time', () => {
    fc.assert(
      fc.property(seconds, (date) => {
        const text = formatCreateTime(date);
        expect(formatCreateTime(parseIntellaTime(text))).toBe(text);
      }),
    );
  });

  it('never throws anything but IntellaProtocolError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^\d{14}$/), fc.anything()), (input) => {
        try {
          parseIntellaTime(input);
        } catch (error) {
          expect(error).toBeInstanceOf(IntellaProtocolError);
        }
      }),
    );
  });
});
