import { describe, expect, it } from 'vitest';
import { after, sleep } from './clock';
import { ManualClock } from './manual-clock';

describe('ManualClock', () => {
  it('moves only when told', () => {
    const clock = new ManualClock(1000);
    expect(clock.now()).toBe(1000);
    expect(clock.advance(30 * 3_600_000)).toBe(1000 + 30 * 3_600_000);
    expect(clock.set(5)).toBe(5);
    expect(new ManualClock().now()).toBe(Date.UTC(2026, 0, 1));
  });

  it('fires timers in order as time passes them, each seeing its own time', () => {
    const clock = new ManualClock(0);
    const fired: string[] = [];
    after(clock, 300, () => fired.push(`c@${clock.now()}`));
    after(clock, 100, () => fired.push(`a@${clock.now()}`));
    after(clock, 100, () => fired.push(`b@${clock.now()}`));
    const cancel = after(clock, 200, () => fired.push('cancelled'));
    cancel();
    clock.advance(99);
    expect(fired).toEqual([]);
    clock.advance(201);
    expect(fired).toEqual(['a@100', 'b@100', 'c@300']);
    expect(clock.pending).toBe(0);
  });

  it('fires a timer a callback schedules when it is due within the same advance', () => {
    const clock = new ManualClock(0);
    const fired: number[] = [];
    after(clock, 10, () => after(clock, 10, () => fired.push(clock.now())));
    clock.advance(25);
    expect(fired).toEqual([20]);
    expect(clock.now()).toBe(25);
  });

  it('set() forward fires what comes due; set() back fires nothing', async () => {
    const clock = new ManualClock(1000);
    const slept = sleep(clock, 500);
    clock.set(900);
    expect(clock.pending).toBe(1);
    clock.set(2000);
    await slept;
    expect(clock.pending).toBe(0);
  });
});
