import { ManualClock } from '@tillbus/messaging';
import { describe, expect, it } from 'vitest';
import { CancelDeadlines } from './cancel-deadlines';

/** CommandCancel deadlines while this replica is cut off from NATS. */
describe('CancelDeadlines', () => {
  function harness() {
    const clock = new ManualClock(1_000_000);
    const passed: string[] = [];
    const writer = {
      applyCancel: async (key: string) => {
        passed.push(key);
        return { changed: false };
      },
    };
    const deadlines = new CancelDeadlines(writer as never, clock, {
      event: () => undefined,
    } as never);
    const settle = () => new Promise((resolve) => setTimeout(resolve, 10));
    return { clock, deadlines, passed, settle };
  }

  it('does not fire a deadline while held, and gives it the time it was held', async () => {
    const { clock, deadlines, passed, settle } = harness();
    deadlines.watch('c1', clock.now() + 10_000);
    deadlines.hold();
    clock.advance(60_000);
    await settle();
    expect(passed).toEqual([]);
    deadlines.resume();
    clock.advance(9_999);
    await settle();
    expect(passed).toEqual([]);
    clock.advance(1);
    await settle();
    expect(passed).toEqual(['c1']);
  });

  it('holds a deadline set during a catch-up from the disconnect that interrupts it', async () => {
    const { clock, deadlines, passed, settle } = harness();
    deadlines.hold();
    clock.advance(5_000);
    deadlines.reconnected();
    deadlines.watch('c2', clock.now() + 10_000);
    clock.advance(1_000);
    // the connection went again for 60 s before the catch-up ended
    deadlines.hold();
    clock.advance(60_000);
    deadlines.reconnected();
    deadlines.resume();
    await settle();
    expect(passed).toEqual([]);
    clock.advance(8_999);
    await settle();
    expect(passed).toEqual([]);
    clock.advance(1);
    await settle();
    expect(passed).toEqual(['c2']);
  });
});
