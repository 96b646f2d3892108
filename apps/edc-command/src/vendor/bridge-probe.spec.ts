import { EdcError } from '@tillbus/contracts';
import { ManualClock } from '@tillbus/messaging';
import { describe, expect, it } from 'vitest';
import { BridgeProbe } from './bridge-probe';
import { JournalLink } from './journal-link';
import type { BridgePresence, DevicePresence } from './presence';

const OFFLINE = new EdcError('BRIDGE_OFFLINE', 'offline', {});
const command = (deviceId: string, requestId = 'r1') => ({
  deviceId,
  requestId,
  commandName: 'Purchase' as const,
});

function harness(options: { answers: boolean; speaks?: boolean; state?: DevicePresence }) {
  const requests: string[] = [];
  const answered: string[] = [];
  const connection = {
    inboxPrefix: '_INBOX.test',
    connection: {
      request: async (subject: string, body: string) => {
        requests.push(subject);
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (!options.answers) throw Object.assign(new Error('timeout'), { name: 'TimeoutError' });
        const query = JSON.parse(body) as Record<string, unknown>;
        return {
          data: new TextEncoder().encode(
            JSON.stringify({
              ...query,
              type: 'journal',
              sentAt: Date.now(),
              body: { state: 'not_received', journalSince: 1 },
            }),
          ),
        };
      },
    },
  };
  const presence = {
    device: () => options.state ?? { state: 'offline', bridgeId: 'b1', lastHeartbeatAt: 1 },
    speaks: () => options.speaks ?? true,
    answered: (deviceId: string) => answered.push(deviceId),
  } as unknown as BridgePresence;
  const counted: string[] = [];
  const probe = new BridgeProbe(
    new JournalLink(connection as never, new ManualClock()),
    presence,
    { bridgeProbes: { inc: ({ result }: { result: string }) => counted.push(result) } } as never,
    { event: () => undefined } as never,
  );
  return { probe, requests, answered, counted };
}

describe('BridgeProbe', () => {
  it('lets a submit go ahead when the bridge answers, and marks the bridge heard', async () => {
    const { probe, requests, answered, counted } = harness({ answers: true });
    expect(await probe.overrules(OFFLINE, command('d1'))).toBe(true);
    expect(requests).toEqual(['tillbus.edc.bridge.d1.journal']);
    expect(answered).toEqual(['d1']);
    expect(counted).toEqual(['answered']);
  });

  it('sends one probe for concurrent submits to one bridge', async () => {
    const { probe, requests } = harness({ answers: true });
    const all = await Promise.all([
      probe.overrules(OFFLINE, command('d1', 'r1')),
      probe.overrules(OFFLINE, command('d2', 'r2')),
      probe.overrules(OFFLINE, command('d1', 'r3')),
    ]);
    expect(all).toEqual([true, true, true]);
    expect(requests).toHaveLength(1);
  });

  it('refuses after a silent probe, and does not probe that bridge again for a while', async () => {
    const { probe, requests, counted } = harness({ answers: false });
    expect(await probe.overrules(OFFLINE, command('d1'))).toBe(false);
    expect(await probe.overrules(OFFLINE, command('d1', 'r2'))).toBe(false);
    expect(requests).toHaveLength(1);
    expect(counted).toEqual(['silent']);
  });

  it.each([
    ['a v1 bridge', { answers: true, speaks: false }, OFFLINE],
    [
      'a device no heartbeat ever named',
      { answers: true, state: { state: 'offline', bridgeId: null, lastHeartbeatAt: null } },
      OFFLINE,
    ],
    ['another refusal', { answers: true }, new EdcError('DEVICE_NOT_READY', 'init failed', {})],
  ] as const)('never probes for %s', async (_what, options, refusal) => {
    const { probe, requests } = harness(options as never);
    expect(await probe.overrules(refusal, command('d1'))).toBe(false);
    expect(requests).toEqual([]);
  });
});
