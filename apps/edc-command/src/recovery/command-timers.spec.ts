import { ManualClock } from '@tillbus/messaging';
import { describe, expect, it } from 'vitest';
import { CommandTimers } from './command-timers';

describe('CommandTimers', () => {
  // a command in flight whose deadline passes while its record cannot be read (an election, a partition)
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

  describe('held while NATS is away', () => {
    function heldHarness() {
      const clock = new ManualClock(1_000_000);
      const stored = new Map<string, Record<string, unknown>>();
      const held: { key: string; heldMs: number }[] = [];
      const command = (key: string) => {
        const record = {
          kind: 'command',
          deviceId: `d-${key}`,
          requestId: key,
          owner: 'replica-a',
          lifecycle: {
            phase: 'READY',
            deadlineAt: clock.now() + 95_000,
            countdownEndsAt: clock.now() + 30_000,
            cancel: null,
          },
        };
        stored.set(key, record);
        return record;
      };
      const timers = new CommandTimers(
        { REPLICA_ID: 'replica-a', EDC_AUTO_CANCEL_ON_EXPIRY: false } as never,
        clock,
        { read: async (key: string) => ({ value: stored.get(key) }) } as never,
        {
          apply: async (key: string, change: { type: string; heldMs: number }) => {
            if (change.type === 'held') held.push({ key, heldMs: change.heldMs });
            return { notes: [] };
          },
        } as never,
        {} as never,
        {} as never,
        {} as never,
        { owned: { set: () => undefined } } as never,
        { event: () => undefined } as never,
        { stopping: false } as never,
      );
      return { clock, timers, command, held };
    }

    it('moves a command held at the disconnect on by the whole hold, an interrupted catch-up included', async () => {
      const { clock, timers, command, held } = heldHarness();
      timers.own('k1', command('k1') as never);
      timers.hold();
      clock.advance(10_000);
      timers.reconnected();
      clock.advance(1_000);
      // lost again before the catch-up ended: no resume in between
      timers.hold();
      clock.advance(4_000);
      timers.reconnected();
      await timers.resume();
      expect(held).toEqual([{ key: 'k1', heldMs: 15_000 }]);
    });

    it('holds a command owned during a catch-up from the disconnect that interrupts it, not from before', async () => {
      const { clock, timers, command, held } = heldHarness();
      timers.own('k1', command('k1') as never);
      timers.hold();
      clock.advance(10_000);
      timers.reconnected();
      // submitted while the catch-up ran, connected; the connection goes 2 s later, for 100 s
      timers.own('k2', command('k2') as never);
      clock.advance(2_000);
      timers.hold();
      clock.advance(100_000);
      timers.reconnected();
      await timers.resume();
      expect(held).toEqual(
        expect.arrayContaining([
          { key: 'k1', heldMs: 112_000 },
          { key: 'k2', heldMs: 100_000 },
        ]),
      );
      expect(held).toHaveLength(2);
    });

    it('does not move a command owned during a catch-up that ends without another loss', async () => {
      const { clock, timers, command, held } = heldHarness();
      timers.hold();
      clock.advance(10_000);
      timers.reconnected();
      timers.own('k2', command('k2') as never);
      clock.advance(50);
      await timers.resume();
      expect(held).toEqual([]);
    });
  });
});
