import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import {
  BRIDGE_PROTOCOL_VERSION,
  BRIDGE_PROTOCOL_VERSIONS,
  HEARTBEAT_INTERVAL_MS,
  kiccBridgeSubject,
} from '@tillbus/protocols-kicc';
import type { KiccCommandName } from '@tillbus/result-codes';
import {
  SimBridge,
  SimDevice,
  generateSpecs,
  type BridgeSpec,
  type ExecutedCommand,
} from './bridge-model';
import { BusLink } from './bus-link';
import { CommandIntake } from './command-intake';
import { serveControl } from './control-subject';
import { DeviceRunner } from './device-runner';
import { JournalDesk } from './journal-desk';
import { checkDeviceFaults, type DeviceFaults } from './faults';
import { SimRuntime, type KiccSimCounters } from './runtime';
import { resolveTiming, type ScriptedCommand, type SimTiming, TIMING_PROFILES } from './scenarios';

export type { BridgeSpec, ExecutedCommand } from './bridge-model';
export { KICC_SIM_CONTROL_SUBJECT, type ControlRequest } from './control-subject';
export type { DeviceFaults } from './faults';
export type { KiccSimCounters } from './runtime';

export interface KiccSimulatorOptions {
  natsUrl: string;
  /** NATS credentials: a real bridge logs in as its own user (nats.js ignores user:pass in a URL). */
  natsUser?: string;
  natsPassword?: string;
  /** Reply subjects' prefix; default `_INBOX_<natsUser>`, the prefix auth.conf reserves for that user. */
  natsInboxPrefix?: string;
  /** The CA that signed a tls:// server's certificate. */
  natsCaFile?: string;
  bridges?: BridgeSpec[];
  /** Or generated: `<prefix>-b<i>` bridges, each with devices `<prefix>-b<i>-d<j>`. */
  generate?: { bridges: number; devicesPerBridge: number; prefix?: string };
  /** `realistic` (default), `fast` (5 ms steps, for tests), `instant` (benchmark), or custom step times. */
  timing?: keyof typeof TIMING_PROFILES | Partial<SimTiming>;
  heartbeatIntervalMs?: number;
  /**
   * Whether a GetLastTransaction answer carries the transaction's requestId. The seed's sample has none, so the
   * default is false.
   */
  lastTransactionRequestId?: boolean;
  /**
   * The protocol versions the bridges speak and list in their heartbeats: [1, 2] (default) serves the journal
   * (docs/bridge-protocol.md §12); [1] is a bridge of before it, for compatibility tests.
   */
  protocolVersions?: number[];
  /** Faults in force from the start, by deviceId. */
  faults?: Record<string, DeviceFaults>;
  /** Bridges that start offline. */
  offline?: string[];
  /** The bridges' clock, for `notAfter`; defaults to Date.now. */
  now?: () => number;
  /**
   * Skip the protocol codec's checks: outgoing messages are built valid and serialised as they are, incoming
   * commands are only JSON-parsed and matched to their device. For the benchmark, so it measures edc-command rather
   * than the simulator; tests keep the checks.
   */
  skipCodecChecks?: boolean;
  /** Serve the control subject (default true). */
  control?: boolean;
  /** Where to serve it, so several simulators can share one NATS (default KICC_SIM_CONTROL_SUBJECT). */
  controlSubject?: string;
}

export interface KiccSimulator {
  readonly bridgeIds: string[];
  readonly deviceIds: string[];
  readonly counters: KiccSimCounters;
  /** Commands that ran on a device (sendCommand was called), oldest first. */
  executed(deviceId?: string): ExecutedCommand[];
  setFaults(deviceId: string, faults: DeviceFaults): void;
  /** Scripts the outcome of the next commands on a device, before the amount table. */
  script(deviceId: string, ...commands: ScriptedCommand[]): void;
  /** Lets the running command go past its hold, now or when it gets there. */
  release(deviceId: string): void;
  /** The device reboots: a running command ends with CommandResponseTimeout; `charged` says whether it paid. */
  restartDevice(deviceId: string, options?: { charged?: boolean }): void;
  /** Takes a bridge off the bus (no heartbeats, no command subscriptions, results kept) or back on. */
  setBridgeOnline(bridgeId: string, online: boolean): Promise<void>;
  /** Loses the bridge's heartbeats on the way, or stops losing them (without a beat: the bridge never saw the cut). */
  setHeartbeatsLost(bridgeId: string, lost: boolean): void;
  /** What the device is doing: its running command and its phase. */
  deviceState(deviceId: string): {
    running: { requestId: string; commandName: KiccCommandName; phase: string } | null;
    lastTransactionRequestId: string | null;
  };
  /** Resolves when every message waiting in the bridges' outboxes has been stored by the stream. */
  flushed(): Promise<void>;
  close(): Promise<void>;
}

/**
 * KICC bridges and their EDC devices, over the bus protocol of docs/bridge-protocol.md: command subscriptions with
 * acks, JetStream events and results with `Nats-Msg-Id`, heartbeats, a dedupe store and an outbox per bridge.
 */
export async function startKiccBridgeSimulator(
  options: KiccSimulatorOptions,
): Promise<KiccSimulator> {
  const nc = await connect({
    servers: options.natsUrl,
    user: options.natsUser,
    pass: options.natsPassword,
    name: 'kicc-bridge-simulator',
    // Replies (JetStream acks of the results it publishes) on the prefix auth.conf reserves for its user.
    inboxPrefix:
      options.natsInboxPrefix ?? (options.natsUser ? `_INBOX_${options.natsUser}` : undefined),
    ...(options.natsCaFile ? { tls: { caFile: options.natsCaFile } } : {}),
    maxReconnectAttempts: -1,
    // back within a second of the broker, as a bridge should be (docs/bridge-protocol.md §5)
    reconnectTimeWait: 500,
    reconnectJitter: 100,
    reconnectJitterTLS: 100,
    noAsyncTraces: true,
  });
  const sim = new Simulator(nc, options);
  await sim.start();
  return sim;
}

class Simulator implements KiccSimulator {
  private readonly bridges = new Map<string, SimBridge>();
  private readonly devices = new Map<string, SimDevice>();
  private readonly runtime: SimRuntime;
  private readonly bus: BusLink;
  private readonly runner: DeviceRunner;
  private readonly intake: CommandIntake;
  private readonly journal: JournalDesk;
  private control?: Subscription;

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: KiccSimulatorOptions,
  ) {
    const now = options.now ?? Date.now;
    this.runtime = new SimRuntime(nc, now, options.skipCodecChecks === true);
    this.bus = new BusLink(
      this.runtime,
      options.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS.default,
    );
    this.runner = new DeviceRunner(
      this.runtime,
      this.bus,
      resolveTiming(options.timing),
      options.lastTransactionRequestId,
    );
    this.intake = new CommandIntake(this.runtime, this.bus, this.runner);
    this.journal = new JournalDesk(this.runtime);
    const versions = options.protocolVersions ?? [...BRIDGE_PROTOCOL_VERSIONS];
    if (!versions.includes(BRIDGE_PROTOCOL_VERSION))
      throw new Error(`protocolVersions must list ${BRIDGE_PROTOCOL_VERSION}`);
    const specs = options.bridges ?? generateSpecs(options.generate);
    for (const spec of specs) {
      const bridge = new SimBridge(spec.bridgeId, now(), versions);
      kiccBridgeSubject('heartbeat', spec.bridgeId);
      for (const deviceId of spec.devices) {
        kiccBridgeSubject('command', deviceId);
        if (this.devices.has(deviceId)) throw new Error(`device ${deviceId} is listed twice`);
        const device = new SimDevice(deviceId, bridge);
        device.faults = { ...(options.faults?.[deviceId] ?? {}) };
        void device.misbehaviours; // an unknown mode stops the start
        bridge.devices.set(deviceId, device);
        this.devices.set(deviceId, device);
      }
      this.bridges.set(spec.bridgeId, bridge);
    }
  }

  get counters(): KiccSimCounters {
    return this.runtime.counters;
  }

  get bridgeIds(): string[] {
    return [...this.bridges.keys()];
  }

  get deviceIds(): string[] {
    return [...this.devices.keys()];
  }

  async start(): Promise<void> {
    const offline = new Set(this.options.offline ?? []);
    let index = 0;
    for (const bridge of this.bridges.values()) {
      if (offline.has(bridge.id)) {
        bridge.online = false;
        continue;
      }
      this.goOnline(bridge, (index++ * this.bus.intervalMs) / Math.max(1, this.bridges.size));
    }
    void this.beatOnReconnect();
    if (this.options.control !== false) {
      this.control = serveControl(this.nc, this.options.controlSubject, this);
    }
    await this.nc.flush();
  }

  private async beatOnReconnect(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type !== 'reconnect') continue;
      for (const bridge of this.bridges.values()) this.bus.reconnected(bridge);
    }
  }

  private goOnline(bridge: SimBridge, firstHeartbeatDelayMs = 0): void {
    this.bus.goOnline(
      bridge,
      (device, msg) => {
        this.intake.onCommand(device, msg);
        this.bus.roundTrip(device.bridge);
      },
      (device, msg) => {
        this.journal.onQuery(device, msg);
        this.bus.roundTrip(device.bridge);
      },
      firstHeartbeatDelayMs,
    );
  }

  async setBridgeOnline(bridgeId: string, online: boolean): Promise<void> {
    const bridge = this.bridge(bridgeId);
    if (online === bridge.online) return;
    if (online) this.goOnline(bridge);
    else this.bus.goOffline(bridge);
    await this.nc.flush();
  }

  setHeartbeatsLost(bridgeId: string, lost: boolean): void {
    this.bridge(bridgeId).heartbeatsLost = lost;
  }

  flushed(): Promise<void> {
    return this.bus.flushed(this.bridges.values());
  }

  executed(deviceId?: string): ExecutedCommand[] {
    if (deviceId) return [...this.device(deviceId).executed];
    return [...this.devices.values()]
      .flatMap((device) => device.executed)
      .sort((a, b) => a.at - b.at);
  }

  setFaults(deviceId: string, faults: DeviceFaults): void {
    const device = this.device(deviceId);
    checkDeviceFaults(faults);
    const initChanged = faults.init !== undefined && faults.init !== device.init;
    device.faults = { ...device.faults, ...faults };
    if (faults.holdAt === null) this.release(deviceId);
    if (initChanged) this.bus.changed(device.bridge);
  }

  script(deviceId: string, ...commands: ScriptedCommand[]): void {
    this.device(deviceId).script.push(...commands);
  }

  release(deviceId: string): void {
    const run = this.device(deviceId).running;
    if (!run) return;
    if (run.release) run.release();
    else run.released = true;
  }

  restartDevice(deviceId: string, options: { charged?: boolean } = {}): void {
    this.runner.restart(this.device(deviceId), options.charged);
  }

  deviceState(deviceId: string) {
    const device = this.device(deviceId);
    const run = device.running;
    return {
      running: run
        ? { requestId: run.requestId, commandName: run.commandName, phase: run.phase }
        : null,
      lastTransactionRequestId: device.lastTransaction?.requestId ?? null,
    };
  }

  private device(deviceId: string): SimDevice {
    const device = this.devices.get(deviceId);
    if (!device) throw new Error(`unknown device ${deviceId}`);
    return device;
  }

  private bridge(bridgeId: string): SimBridge {
    const bridge = this.bridges.get(bridgeId);
    if (!bridge) throw new Error(`unknown bridge ${bridgeId}`);
    return bridge;
  }

  async close(): Promise<void> {
    if (this.runtime.closed) return;
    this.runtime.closed = true;
    this.runtime.clearTimers();
    for (const bridge of this.bridges.values()) {
      this.bus.stopBeating(bridge);
      for (const device of bridge.devices.values())
        if (device.running) this.runner.stop(device, device.running);
    }
    this.control?.unsubscribe();
    await this.nc.drain().catch(() => this.nc.close());
  }
}
