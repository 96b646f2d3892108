import { describe, expect, it } from 'vitest';
import { InMemoryReplayGuard } from './replay-guard';

describe('InMemoryReplayGuard', () => {
  it('answers false the first time and true while the key lives', () => {
    let now = 1_000;
    const guard = new InMemoryReplayGuard({ now: () => now });
    expect(guard.seen('a', 2_000)).toBe(false);
    expect(guard.seen('a', 2_000)).toBe(true);
    now = 1_999;
    expect(guard.seen('a', 2_000)).toBe(true);
    now = 2_000;
    expect(guard.seen('a', 3_000)).toBe(false);
  });

  it('forgets expired keys so memory does not grow past the live ones', () => {
    let now = 0;
    const guard = new InMemoryReplayGuard({ now: () => now });
    for (let i = 0; i < 100; i++) guard.seen(`k${i}`, 10);
    expect(guard.size).toBe(100);
    now = 10;
    guard.seen('fresh', 20);
    expect(guard.size).toBe(1);
  });

  it('sweeps expired keys hidden behind a live one when full', () => {
    let now = 0;
    const guard = new InMemoryReplayGuard({ now: () => now, maxEntries: 3 });
    guard.seen('long', 100);
    guard.seen('short1', 5);
    guard.seen('short2', 5);
    now = 6;
    guard.seen('new', 100);
    expect(guard.size).toBe(2);
    expect(guard.seen('long', 100)).toBe(true);
  });

  it('stays within its bound, dropping the oldest live keys first', () => {
    const guard = new InMemoryReplayGuard({ now: () => 0, maxEntries: 2 });
    guard.seen('a', 100);
    guard.seen('b', 100);
    guard.seen('c', 100);
    expect(guard.size).toBe(2);
    expect(guard.seen('c', 100)).toBe(true);
    expect(guard.seen('b', 100)).toBe(true);
    expect(guard.seen('a', 100)).toBe(false);
  });

  it('sweeps the whole guard at most once a second, so a guard full of live keys stays cheap', () => {
    let now = 0;
    const guard = new InMemoryReplayGuard({ now: () => now, maxEntries: 3 });
    guard.seen('live1', 10_000);
    guard.seen('short1', 5);
    guard.seen('short2', 5);
    now = 6;
    guard.seen('a', 10_000); // full: the sweep finds short1 and short2 behind the live head
    expect(guard.size).toBe(2);
    guard.seen('short3', 7);
    now = 8;
    guard.seen('c', 10_000); // full again within the second: no sweep, so the oldest insertion (live1) goes
    expect(guard.seen('live1', 10_000)).toBe(false);
    now = 1006;
    guard.seen('d', 10_000);
    expect(guard.size).toBe(3);
    for (const key of ['c', 'live1', 'd']) expect(guard.seen(key, 10_000)).toBe(true);
  });
});
