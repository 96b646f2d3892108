import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  HEARTBEAT_MISSES_BEFORE_OFFLINE,
  KICC_BRIDGE_SUBJECT_WILDCARDS,
  KiccProtocolError,
  isBridgeOffline,
  parseBridgeMessage,
} from '@tillbus/protocols-kicc';
import type { JsonLogger } from '@tillbus/observability';
import type { EdcMetrics } from '../metrics';

interface BridgeSeen {
  lastAt: number;
  intervalMs: number;
  startedAt: number;
  devices: string[];
  /** Its latest heartbeat's `protocolVersions`: a version's new messages go only to a bridge that lists it (§8). */
  protocolVersions: readonly number[];
  /**
   * Online when this replica lost NATS: its silence from then on is this replica's, not the bridge's. Set until its
   * next heartbeat; `silentFrom` is when its silence counts from (the reconnect), null while still disconnected.
   */
  excused?: { silentFrom: number | null };
  /** This replica logged and counted it going offline (cleared by its next heartbeat). */
  reportedOffline?: boolean;
}

interface DeviceSeen {
  bridgeId: string;
  init: string | null;
  runningRequestId: string | null;
}

export type DevicePresence =
  | { state: 'online'; bridgeId: string; init: string | null }
  | { state: 'offline'; bridgeId: string | null; lastHeartbeatAt: number | null }
  /** No heartbeat has named the device since this replica started, and it is still warming up. */
  | { state: 'unknown' };

/**
 * Bridge presence from heartbeats, on the wall clock: a bridge beats on its own wall clock, so its silence is
 * measured on the same timeline (a test that moves the vendor-timeout clock forward does not silence every bridge).
 * Every replica subscribes without a queue group (heartbeats are small and
 * frequent; each replica needs the whole picture to refuse a command to an offline bridge at once, without a KV
 * read). A bridge is offline after 3 intervals without a heartbeat (`isBridgeOffline`).
 *
 * The silence only counts while this replica hears the bus: a bridge online when this replica lost NATS stays
 * online through the outage, and its 3 intervals start again at the reconnect (`disconnected`, `reconnected`).
 */
export class BridgePresence {
  private readonly bridges = new Map<string, BridgeSeen>();
  private readonly devices = new Map<string, DeviceSeen>();
  private readonly onlineListeners: ((bridgeId: string, devices: string[]) => void)[] = [];
  private subscription?: Subscription;
  /** When this replica began to listen: the warm-up runs from here, not from construction. */
  private startedAt: number;
  private disconnectedAt: number | null = null;

  constructor(
    private readonly warmupMs: number,
    private readonly logger: JsonLogger,
    private readonly metrics: EdcMetrics,
  ) {
    this.startedAt = Date.now();
  }

  start(nc: NatsConnection): void {
    // a boot that waited for JetStream (a cluster still electing) must not have used the warm-up up already
    this.startedAt = Date.now();
    this.subscription = nc.subscribe(KICC_BRIDGE_SUBJECT_WILDCARDS.heartbeat, {
      callback: (_error, msg) => this.onHeartbeat(msg.subject, msg.data),
    });
  }

  stop(): void {
    this.subscription?.unsubscribe();
  }

  /** When a bridge starts beating again (or for the first time). */
  onOnline(listener: (bridgeId: string, devices: string[]) => void): void {
    this.onlineListeners.push(listener);
  }

  onHeartbeat(subject: string, data: Uint8Array): void {
    let heartbeat;
    try {
      heartbeat = parseBridgeMessage(data, { subject });
      if (heartbeat.type !== 'heartbeat')
        throw new KiccProtocolError('INVALID_MESSAGE', 'not a heartbeat');
    } catch (error) {
      const code = error instanceof KiccProtocolError ? error.code : 'INVALID_MESSAGE';
      this.metrics.bridgeMessages.inc({
        type: 'heartbeat',
        result: code === 'CARD_DATA_REFUSED' ? 'card_data_refused' : 'invalid',
      });
      this.logger.event('warn', 'refused a heartbeat', { subject, code });
      return;
    }
    const now = Date.now();
    const previous = this.bridges.get(heartbeat.bridgeId);
    const wasOnline = previous !== undefined && !this.isOffline(previous, now);
    const devices = heartbeat.body.devices.map((device) => device.deviceId);
    this.bridges.set(heartbeat.bridgeId, {
      lastAt: now,
      intervalMs: heartbeat.body.intervalMs,
      startedAt: heartbeat.body.startedAt,
      devices,
      protocolVersions: heartbeat.body.protocolVersions,
    });
    for (const device of heartbeat.body.devices) {
      this.devices.set(device.deviceId, {
        bridgeId: heartbeat.bridgeId,
        init: device.init?.code ?? null,
        runningRequestId: device.runningRequestId ?? null,
      });
    }
    this.metrics.bridgeMessages.inc({ type: 'heartbeat', result: 'applied' });
    if (!wasOnline) this.announceOnline(heartbeat.bridgeId, devices, 'heartbeat');
  }

  private announceOnline(bridgeId: string, devices: string[], by: 'heartbeat' | 'probe'): void {
    this.logger.event('info', 'bridge online', { bridgeId, devices: devices.length, by });
    for (const listener of this.onlineListeners) listener(bridgeId, devices);
  }

  device(deviceId: string): DevicePresence {
    const now = Date.now();
    const seen = this.devices.get(deviceId);
    if (!seen) {
      if (now - this.startedAt < this.warmupMs) return { state: 'unknown' };
      return { state: 'offline', bridgeId: null, lastHeartbeatAt: null };
    }
    const bridge = this.bridges.get(seen.bridgeId)!;
    if (this.isOffline(bridge, now)) {
      return { state: 'offline', bridgeId: seen.bridgeId, lastHeartbeatAt: bridge.lastAt };
    }
    return { state: 'online', bridgeId: seen.bridgeId, init: seen.init };
  }

  /**
   * The device's bridge was online when this replica lost NATS, has not been heard since it is back, and that
   * return is less than one heartbeat interval ago: a live bridge may not be back on the bus yet (it beats as soon
   * as it is, docs/bridge-protocol.md §5).
   */
  awaitingReturn(deviceId: string): boolean {
    const seen = this.devices.get(deviceId);
    const bridge = seen && this.bridges.get(seen.bridgeId);
    const silentFrom = bridge?.excused?.silentFrom;
    return silentFrom != null && Date.now() - silentFrom < bridge!.intervalMs;
  }

  /**
   * The device's bridge answered this replica although its heartbeats went quiet (lost on a link whose far end kept
   * its connection): it is heard now, as a heartbeat would have made it.
   */
  answered(deviceId: string): void {
    const seen = this.devices.get(deviceId);
    const bridge = seen && this.bridges.get(seen.bridgeId);
    if (!bridge) return;
    const now = Date.now();
    const wasOnline = !this.isOffline(bridge, now);
    bridge.lastAt = now;
    bridge.excused = undefined;
    bridge.reportedOffline = false;
    if (!wasOnline) this.announceOnline(seen.bridgeId, bridge.devices, 'probe');
  }

  /** The device's bridge listed `version` in its latest heartbeat. */
  speaks(deviceId: string, version: number): boolean {
    const seen = this.devices.get(deviceId);
    return this.bridges.get(seen?.bridgeId ?? '')?.protocolVersions.includes(version) ?? false;
  }

  /**
   * A device whose bridge this replica knows, and has stopped hearing from. A device it has never heard is not
   * lost: a replica that has just started and adopted a command has simply not had a heartbeat yet, and the
   * command's deadline still bounds it.
   */
  isLost(deviceId: string): boolean {
    const presence = this.device(deviceId);
    return presence.state === 'offline' && presence.bridgeId !== null;
  }

  connectedBridges(): number {
    const now = Date.now();
    let count = 0;
    for (const bridge of this.bridges.values()) if (!this.isOffline(bridge, now)) count++;
    return count;
  }

  /** This replica lost NATS: the bridges online now are not held to their heartbeats until it is back. */
  disconnected(): void {
    if (this.disconnectedAt !== null) return;
    const now = Date.now();
    this.disconnectedAt = now;
    for (const bridge of this.bridges.values())
      if (!this.isOffline(bridge, now)) bridge.excused = { silentFrom: null };
  }

  /** This replica is back on NATS: the bridges it excused get their 3 intervals from now. */
  reconnected(): void {
    if (this.disconnectedAt === null) return;
    const now = Date.now();
    let excused = 0;
    for (const bridge of this.bridges.values()) {
      if (!bridge.excused) continue;
      bridge.excused.silentFrom = now;
      excused++;
    }
    this.logger.event('info', 'bridge presence resumed after the NATS outage', {
      outageMs: now - this.disconnectedAt,
      bridges: excused,
    });
    this.disconnectedAt = null;
  }

  /** Logs and counts each bridge that went offline since the last look, once. */
  reportOffline(): void {
    const now = Date.now();
    for (const [bridgeId, bridge] of this.bridges) {
      if (bridge.reportedOffline || !this.isOffline(bridge, now)) continue;
      bridge.reportedOffline = true;
      this.metrics.bridgesOffline.inc();
      this.logger.event('warn', 'bridge offline', {
        bridgeId,
        devices: bridge.devices.length,
        lastHeartbeatAt: bridge.lastAt,
        silentMs: now - this.silentSince(bridge),
      });
    }
  }

  /** Since when a bridge's silence counts against it. */
  private silentSince(bridge: BridgeSeen): number {
    const excused = bridge.excused;
    if (!excused) return bridge.lastAt;
    return Math.max(bridge.lastAt, excused.silentFrom ?? Date.now());
  }

  private isOffline(bridge: BridgeSeen, now: number): boolean {
    return isBridgeOffline(this.silentSince(bridge), bridge.intervalMs, now);
  }

  /** How long a bridge with this interval may stay silent before it counts as offline. */
  static silenceAllowedMs(intervalMs: number): number {
    return intervalMs * HEARTBEAT_MISSES_BEFORE_OFFLINE;
  }
}
