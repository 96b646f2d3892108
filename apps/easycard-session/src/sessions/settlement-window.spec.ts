import { describe, expect, it } from 'vitest';
import {
  businessDay,
  inSettlementWindow,
  settlementWindow,
  windowClose,
  windowStart,
} from './settlement-window';

const tw = (day: number, hour: number, minute: number) => Date.UTC(2024, 0, day, hour - 8, minute);
const window = settlementWindow('22:00', '23:30', 480);

describe('settlement window (Taiwan business day)', () => {
  it.each([
    [tw(1, 21, 59), false],
    [tw(1, 22, 0), true],
    [tw(1, 23, 29), true],
    [tw(1, 23, 30), false],
    [tw(2, 0, 10), false],
  ])('%s in window: %s', (at, inside) => {
    expect(inSettlementWindow(at, window)).toBe(inside);
  });

  it('the business day turns at local midnight (16:00 UTC)', () => {
    expect(businessDay(Date.UTC(2024, 0, 1, 15, 59), 480)).toBe('2024-01-01');
    expect(businessDay(Date.UTC(2024, 0, 1, 16, 0), 480)).toBe('2024-01-02');
    expect(businessDay(Date.UTC(2024, 0, 1, 16, 0), -300)).toBe('2024-01-01');
  });

  it('window bounds are on the local day of the instant', () => {
    expect(windowStart(tw(3, 9, 0), window)).toBe(tw(3, 22, 0));
    expect(windowClose(tw(3, 23, 59), window)).toBe(tw(3, 23, 30));
  });
});
