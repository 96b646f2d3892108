import { describe, expect, it } from 'vitest';
import { DEFAULT_RESPAWN_POLICY, RespawnTracker } from './respawn';

describe('RespawnTracker', () => {
  it('restarts at once, then backs off exponentially up to the cap, then gives up', () => {
    const tracker = new RespawnTracker();
    const decisions = Array.from({ length: 8 }, () => tracker.onExit('svc', 100));
    expect(decisions.map((d) => (d.action === 'restart' ? d.afterMs : 'give-up'))).toEqual([
      0,
      1_000,
      2_000,
      4_000,
      8_000,
      16_000,
      30_000,
      'give-up',
    ]);
    expect(decisions.at(-1)).toEqual({ action: 'give-up', quickExits: 8 });
  });

  it('starts counting again after a run that lasted', () => {
    const tracker = new RespawnTracker();
    tracker.onExit('svc', 100);
    tracker.onExit('svc', 100);
    expect(tracker.onExit('svc', DEFAULT_RESPAWN_POLICY.stableMs)).toEqual({
      action: 'restart',
      afterMs: 0,
      quickExits: 1,
    });
  });

  it('counts each process on its own', () => {
    const tracker = new RespawnTracker({ ...DEFAULT_RESPAWN_POLICY, maxQuickExits: 2 });
    expect(tracker.onExit('a', 0).action).toBe('restart');
    expect(tracker.onExit('b', 0).action).toBe('restart');
    expect(tracker.onExit('a', 0).action).toBe('give-up');
  });
});
