import { ManualClock } from '@tillbus/messaging';
import { describe, expect, it } from 'vitest';
import type { BridgeInbox } from '../commands/bridge-inbox';
import type { OwnerLeases } from '../ownership/owner-leases';
import type { CancelDeadlines } from '../recovery/cancel-deadlines';
import type { CommandTimers } from '../recovery/command-timers';
import type { BridgePresence } from '../vendor/presence';
import type { JsonLogger } from '@tillbus/observability';
import { ConnectionHold } from './connection-hold';

function harness() {
  const clock = new ManualClock(1_000_000);
  const calls: string[] = [];
  let drained!: (caughtUp: boolean) => void;
  const note =
    (name: string) =>
    (...args: unknown[]) => {
      calls.push(args.length ? `${name}(${args.join(',')})` : name);
    };
  const hold = new ConnectionHold(
    clock,
    {
      disconnected: note('presence.disconnected'),
      reconnected: note('presence.reconnected'),
    } as unknown as BridgePresence,
    {
      caughtUp: () => {
        calls.push('inbox.caughtUp');
        return new Promise<boolean>((resolve) => (drained = resolve));
      },
    } as unknown as BridgeInbox,
    {
      hold: note('timers.hold'),
      reconnected: note('timers.reconnected'),
      resume: async () => note('timers.resume')(),
      ownedCount: () => 0,
    } as unknown as CommandTimers,
    {
      hold: note('cancels.hold'),
      reconnected: note('cancels.reconnected'),
      resume: () => note('cancels.resume')(),
    } as unknown as CancelDeadlines,
    {
      disconnected: () => undefined,
      reconnected: () => undefined,
      renew: async () => undefined,
    } as unknown as OwnerLeases,
    { event: () => undefined } as unknown as JsonLogger,
  );
  return { hold, clock, calls, drain: (caughtUp = true) => drained(caughtUp) };
}

describe('ConnectionHold', () => {
  it('holds at the disconnect, and re-arms only after the bridge stream was read, by the whole hold', async () => {
    const { hold, clock, calls, drain } = harness();
    hold.disconnected();
    expect(hold.held).toBe(true);
    clock.advance(30_000);
    const back = hold.reconnected();
    clock.advance(400);
    await Promise.resolve();
    expect(calls).not.toContain('timers.resume');
    drain();
    await back;
    expect(calls).toEqual([
      'presence.disconnected',
      'timers.hold',
      'cancels.hold',
      'presence.reconnected',
      'timers.reconnected',
      'cancels.reconnected',
      'inbox.caughtUp',
      'cancels.resume',
      'timers.resume',
    ]);
    expect(hold.held).toBe(false);
  });

  it('keeps holding when the connection goes again during the catch-up, and resumes once, after the next catch-up', async () => {
    const { hold, clock, calls, drain } = harness();
    hold.disconnected();
    clock.advance(10_000);
    const first = hold.reconnected();
    hold.disconnected();
    drain(false);
    await first;
    // the second loss holds again (commands owned during the catch-up are held from it), and nothing resumes
    expect(calls.filter((c) => c.startsWith('timers.'))).toEqual([
      'timers.hold',
      'timers.reconnected',
      'timers.hold',
    ]);
    expect(hold.held).toBe(true);
    clock.advance(5_000);
    const second = hold.reconnected();
    drain();
    await second;
    expect(calls.filter((c) => c === 'timers.resume')).toHaveLength(1);
  });
});
