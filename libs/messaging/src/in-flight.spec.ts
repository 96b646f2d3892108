import { describe, expect, it } from 'vitest';
import { InFlightTracker } from './in-flight';

describe('InFlightTracker', () => {
  it('settles when the last unit of work ends', async () => {
    const tracker = new InFlightTracker();
    const endA = tracker.begin();
    const endB = tracker.begin();
    const settled = tracker.settle(1000);
    endA();
    endA();
    expect(tracker.size).toBe(1);
    endB();
    await expect(settled).resolves.toBe(true);
  });

  it('gives up after the grace period', async () => {
    const tracker = new InFlightTracker();
    tracker.begin();
    await expect(tracker.settle(20)).resolves.toBe(false);
  });

  it('tracks promises whether they resolve or reject', async () => {
    const tracker = new InFlightTracker();
    await expect(tracker.track(async () => 7)).resolves.toBe(7);
    await expect(tracker.track(async () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    expect(tracker.size).toBe(0);
  });
});
