import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { claimKey, slotOffset, SlotPlan } from './schedule';

describe('slotOffset', () => {
  it('is stable and inside the interval', () => {
    expect(slotOffset('antom-1', 30_000)).toBe(slotOffset('antom-1', 30_000));
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 64 }),
        fc.integer({ min: 1000, max: 86_400_000 }),
        (id, interval) => {
          const offset = slotOffset(id, interval);
          expect(offset).toBeGreaterThanOrEqual(0);
          expect(offset).toBeLessThan(interval);
        },
      ),
    );
  });

  it('spreads a fleet evenly over the interval (no thundering herd)', () => {
    const interval = 10_000;
    const buckets = new Array(10).fill(0);
    for (let i = 0; i < 10_000; i++) buckets[Math.floor(slotOffset(`t-${i}`, interval) / 1000)]++;
    for (const count of buckets) expect(count).toBeGreaterThan(850);
    for (const count of buckets) expect(count).toBeLessThan(1150);
  });
});

describe('SlotPlan.due', () => {
  const ids = Array.from({ length: 50 }, (_, i) => `term-${i}`);
  const plan = new SlotPlan(ids, 1000);

  it('yields every terminal once per interval when the windows tile time, whatever their lengths', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 60 }),
        (steps) => {
          const seen = new Map<string, number>();
          let t = 5_000;
          const start = t;
          for (const step of steps) {
            for (const slot of plan.due(t, t + step)) {
              expect(slot.at).toBeGreaterThan(t);
              expect(slot.at).toBeLessThanOrEqual(t + step);
              expect(slot.interval).toBe(Math.floor(slot.at / 1000));
              const key = `${slot.terminalId}/${slot.interval}`;
              seen.set(key, (seen.get(key) ?? 0) + 1);
            }
            t += step;
          }
          for (const count of seen.values()) expect(count).toBe(1);
          // Every (terminal, interval) whose slot time falls in (start, t] was yielded.
          for (const id of ids) {
            for (let k = Math.floor(start / 1000); k <= Math.floor(t / 1000); k++) {
              const at = k * 1000 + slotOffset(id, 1000);
              if (at > start && at <= t) expect(seen.get(`${id}/${k}`)).toBe(1);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('yields slots in time order', () => {
    const times = [...plan.due(1500, 2500)].map((s) => s.at);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times).toHaveLength(50);
  });

  it('cuts a window longer than an interval to its last interval', () => {
    expect([...plan.due(0, 10_000)]).toHaveLength(50);
  });

  it('is empty for an empty fleet or window', () => {
    expect([...new SlotPlan([], 1000).due(0, 5000)]).toEqual([]);
    expect([...plan.due(100, 100)]).toEqual([]);
  });

  it('names claims by interval length, terminal and interval index', () => {
    expect(claimKey(30_000, 'antom-1', 57_000_123)).toBe('30000.antom-1.57000123');
  });
});
