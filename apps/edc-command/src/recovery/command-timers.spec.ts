import { ManualClock } from '@tillbus/messaging';
import { describe, expect, it } from 'vitest';
import { CommandTimers } from './command-timers';

/** A command in flight whose deadline passes while its record cannot be read (an election, a partition). */
describe('CommandTimers', () => {
  it('tries a failed tick again a second later instead of dropping the command', async () => {
    const clock = new ManualClock();
    const record = {
      kind: 'command',
      deviceId: 'd1',
      requestId: 'r1',
      owner: 'replica-a',
      lifecycle: {
        phase: 'sent',
        deadlineAt: clock.now() + 5_000,
        countdownEndsAt: null,
        cancel: null,
      },
    };
    let reads = 0;
    let unreadable = true;
    const applied: string[] = [];
    const records = {
      read: async () => {
        reads++;
        if (unreadable) throw new Error('no quorum');
        return { value: record };
      },
    };
    const writer = {
      apply: async (_key: string, change: { type: string }) => {
        applied.push(change.type);
        return { notes: [] };
      },
    };
    const logger = { event: () => undefined };
    const timers = new CommandTimers(
      { REPLICA_ID: 'replica-a', EDC_AUTO_CANCEL_ON_EXPIRY: false } as never,
      clock,
      records as never,
      writer as never,
      {} as never,
      {} as never,
      {} as never,
      { owned: { set: () => undefined } } as never,
      logger as never,
      { stopping: false } as never,
    );
    const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

    timers.own('k1', record as never);
    clock.advance(5_000);
    await settle();
    expect(reads).toBe(1);
    expect(applied).toEqual([]);

    unreadable = false;
    clock.advance(1_000);
    await settle();
    expect(applied).toEqual(['deadline']);
  });
});
