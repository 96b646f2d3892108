import { Counter, Registry } from 'prom-client';
import type { JsonLogger } from '@tillbus/observability';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EdcMetrics } from '../metrics';
import { BridgePresence } from './presence';

const INTERVAL = 1_000;

function heartbeat(bridgeId: string, deviceId: string, seq = 1): Uint8Array {
  const message = {
    v: 1,
    type: 'heartbeat',
    bridgeId,
    seq,
    sentAt: Date.now(),
    body: {
      startedAt: 1,
      intervalMs: INTERVAL,
      appVersion: 'test',
      sdk: { instoreCore: '1.25.0', instoreEdcCmd: '1.1.0' },
      protocolVersions: [1],
      devices: [{ deviceId, provider: 'KICC', init: { code: 'INIT_SUCCESS' } }],
    },
  };
  return new TextEncoder().encode(JSON.stringify(message));
}

function presence() {
  const registry = new Registry();
  const lines: { msg: string; fields: Record<string, unknown> }[] = [];
  const metrics = {
    bridgeMessages: new Counter({
      name: 'm',
      help: 'm',
      labelNames: ['type', 'result'],
      registers: [registry],
    }),
    bridgesOffline: new Counter({ name: 'o', help: 'o', registers: [registry] }),
  } as unknown as EdcMetrics;
  const logger = {
    event: (_level: string, msg: string, fields: Record<string, unknown>) =>
      lines.push({ msg, fields }),
  } as unknown as JsonLogger;
  const seen = new BridgePresence(0, logger, metrics);
  const beat = (bridgeId: string, deviceId: string) =>
    seen.onHeartbeat(`tillbus.edc.bridge.heartbeat.${bridgeId}`, heartbeat(bridgeId, deviceId));
  const offlineCount = async () =>
    (await registry.getSingleMetric('o')!.get()).values[0]?.value ?? 0;
  return { seen, beat, lines, offlineCount };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(1_000_000);
});
afterEach(() => vi.useRealTimers());

describe('BridgePresence', () => {
  it('runs its warm-up from when it starts listening, not from when it was built (a boot that waited for JetStream)', () => {
    const logger = { event: () => undefined } as unknown as JsonLogger;
    const seen = new BridgePresence(5_000, logger, {} as EdcMetrics);
    // the boot waited 20 s for a cluster to elect before presence began to listen
    vi.advanceTimersByTime(20_000);
    seen.start({ subscribe: () => ({ unsubscribe: () => undefined }) } as never);
    expect(seen.device('not-heard-yet').state).toBe('unknown');
    vi.advanceTimersByTime(5_000);
    expect(seen.device('not-heard-yet').state).toBe('offline');
  });

  it('calls a device lost only once its bridge was heard and went silent, not one never heard after the warm-up', () => {
    const { seen, beat } = presence();
    // warm-up 0: a device never heard is refused as offline, but a command on it was not lost by its bridge
    expect(seen.device('never-heard').state).toBe('offline');
    expect(seen.isLost('never-heard')).toBe(false);
    beat('b1', 'd1');
    expect(seen.isLost('d1')).toBe(false);
    vi.advanceTimersByTime(3 * INTERVAL + 1);
    expect(seen.isLost('d1')).toBe(true);
  });

  it("does not count this replica's own outage against a bridge: its 3 intervals start again at the reconnect", () => {
    const { seen, beat } = presence();
    beat('b1', 'd1');
    seen.disconnected();
    vi.advanceTimersByTime(30_000);
    expect(seen.device('d1').state).toBe('online');
    seen.reconnected();
    expect(seen.device('d1').state).toBe('online');
    expect(seen.awaitingReturn('d1')).toBe(true);
    vi.advanceTimersByTime(INTERVAL);
    expect(seen.awaitingReturn('d1')).toBe(false);
    vi.advanceTimersByTime(2 * INTERVAL);
    expect(seen.device('d1').state).toBe('online');
    vi.advanceTimersByTime(1);
    expect(seen.device('d1')).toMatchObject({
      state: 'offline',
      bridgeId: 'b1',
      lastHeartbeatAt: 1_000_000,
    });
  });

  it('keeps a bridge that was already offline at the disconnect offline', () => {
    const { seen, beat } = presence();
    beat('b1', 'd1');
    vi.advanceTimersByTime(3 * INTERVAL + 1);
    seen.disconnected();
    seen.reconnected();
    expect(seen.device('d1').state).toBe('offline');
    beat('b1', 'd1');
    expect(seen.device('d1').state).toBe('online');
    expect(seen.awaitingReturn('d1')).toBe(false);
  });

  it('logs and counts a bridge going offline once, and again after it came back and went again', async () => {
    const { seen, beat, lines, offlineCount } = presence();
    beat('b1', 'd1');
    seen.reportOffline();
    vi.advanceTimersByTime(3 * INTERVAL + 1);
    seen.reportOffline();
    seen.reportOffline();
    expect(lines.filter((l) => l.msg === 'bridge offline')).toEqual([
      {
        msg: 'bridge offline',
        fields: expect.objectContaining({ bridgeId: 'b1', devices: 1, silentMs: 3 * INTERVAL + 1 }),
      },
    ]);
    beat('b1', 'd1');
    vi.advanceTimersByTime(3 * INTERVAL + 1);
    seen.reportOffline();
    expect(await offlineCount()).toBe(2);
  });
});
