import { describe, expect, it } from 'vitest';
import { after, armUntil, sleep, SystemClock, systemClock } from './clock';

describe('SystemClock', () => {
  it('fires on the wall clock and can be cancelled', async () => {
    const clock = new SystemClock();
    let fired = 0;
    clock.schedule(clock.now() + 10, () => fired++);
    const cancel = clock.schedule(clock.now() + 10, () => fired++);
    cancel();
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(fired).toBe(1);
  });

  it('after() and sleep() count from the clock now', async () => {
    const start = Date.now();
    await sleep(systemClock, 15);
    expect(Date.now() - start).toBeGreaterThanOrEqual(14);
    let fired = false;
    after(systemClock, -5, () => (fired = true));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(fired).toBe(true);
  });
});

describe('armUntil', () => {
  it('re-arms until the clock has really reached the time', async () => {
    let now = 0;
    let fired = false;
    armUntil(
      () => now,
      100,
      () => (fired = true),
      0,
    );
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(fired).toBe(false);
    now = 100;
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(fired).toBe(true);
  });
});
