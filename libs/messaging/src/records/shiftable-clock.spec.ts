import { describe, expect, it } from 'vitest';
import { ShiftableClock } from './shiftable-clock';

describe('ShiftableClock', () => {
  it('fires what becomes due when time moves, in order, and nothing early', async () => {
    const clock = new ShiftableClock();
    const start = clock.now();
    const fired: string[] = [];
    clock.schedule(start + 95_000, () => fired.push('purchase'));
    clock.schedule(start + 5_000, () => fired.push('query'));
    const cancel = clock.schedule(start + 6_000, () => fired.push('cancelled'));
    cancel();
    clock.advance(94_000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(fired).toEqual(['query']);
    clock.advance(1_000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(fired).toEqual(['query', 'purchase']);
    expect(clock.now() - Date.now()).toBeGreaterThanOrEqual(94_990);
    expect(() => clock.advance(-1)).toThrow('time only moves forward');
  });
});
