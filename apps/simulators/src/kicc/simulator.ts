import { randomBytes } from 'node:crypto';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import {
  connect,
  headers,
  type Msg,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';
import {
  BRIDGE_PROTOCOL_VERSION,
  HEARTBEAT_INTERVAL_MS,
  KiccProtocolError,
  bridgeDedupeKey,
  bridgeMessageId,
  decodeJson,
  encodeBridgeMessage,
  kiccBridgeSubject,
  parseBridgeMessage,
  type BridgeAckStatus,
  type BridgeCommand,
  type BridgeMessage,
  type BridgeResultCallback,
} from '@tillbus/protocols-kicc';
import type {
  KiccCommandName,
  KiccEventCode,
  KiccInitCode,
  KiccPhaseEventCode,
} from '@tillbus/result-codes';
import {
  failsImmediately,
  needsSignature,
  outcomeForAmount,
  resolveTiming,
  type ScriptedCommand,
  type SimOutcome,
  type SimTiming,
  TIMING_PROFILES,
} from './scenarios';
import {
  Misbehaviours,
  SLOW_HEARTBEAT_FACTOR,
  SeqShuffler,
  type BridgeMisbehaviour,
} from './misbehaviour';

/** Request/reply subject that controls a running simulator from another process (tests, the demo, the CLI). */
export const KICC_SIM_CONTROL_SUBJECT = 'tillbus.sim.kicc-bridge.control';

export interface BridgeSpec {
  bridgeId: string;
  devices: string[];
}

/** Faults of one device; every field can be changed while the simulator runs. */
export interface DeviceFaults {
  /** Answer every command but CommandCancel with `busy`, as if this foreign requestId were running. */
  busyWith?: string | null;
  /** The SDK's onInitResult: anything but INIT_SUCCESS makes the bridge answer `not_ready`. */
  init?: KiccInitCode;
  /**
   * Lose the next N Purchase or PurchaseCancel results: the SDK never calls back, nothing is published (the
   * payment still happens). GetLastTransaction and CommandCancel answers are not affected.
   */
  dropResults?: number;
  /** Answer the next N GetLastTransaction queries with onCommandFailed CommandResponseTimeout. */
  failLastTransaction?: number;
  /** Publish Purchase and PurchaseCancel results this many ms late (0: on time). */
  delayResultMs?: number;
  /** Stop after emitting this event until `release(deviceId)`, a CommandCancel or a device restart. */
  holdAt?: KiccPhaseEventCode | null;
  /** Overrides the simulator's `lastTransactionRequestId` for this device. */
  lastTransactionRequestId?: boolean;
  /** Deliberate protocol breaches (misbehaviour.ts), for the bridge certifier's tests. */
  misbehave?: BridgeMisbehaviour[];
}

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

export interface ExecutedCommand {
  requestId: string;
  commandName: KiccCommandName;
  deviceId: string;
  at: number;
}

export interface KiccSimCounters {
  commandsReceived: number;
  /** sendCommand calls, by command: what actually ran on a device. */
  executed: Record<KiccCommandName, number>;
  acks: Partial<Record<BridgeAckStatus, number>>;
  events: number;
  results: number;
  resultsDropped: number;
  resultsDelayed: number;
  heartbeats: number;
  publishRetries: number;
}

/** The device's last transaction, as GetLastTransaction reports it. */
interface LastTransaction {
  requestId: string;
  responseData: Record<string, unknown>;
}

interface OutgoingMessage {
  subject: string;
  msgId: string;
  data: string;
  seq: number;
  type: 'event' | 'result';
  /** Misbehaviours of the device at the time it was sent. */
  corePublish?: boolean;
  noResend?: boolean;
}

/** The bridge's durable dedupe record of one requestId on one device (docs/bridge-protocol.md §7). */
interface StoreEntry {
  requestId: string;
  commandName: KiccCommandName;
  deviceId: string;
  nextSeq: number;
  published: OutgoingMessage[];
}

interface Run {
  requestId: string;
  commandName: KiccCommandName;
  params: Record<string, unknown>;
  entry: StoreEntry;
  phase: KiccEventCode | 'started';
  stopped: boolean;
  /** release() came before the command reached its hold: it goes past the next one. */
  released?: boolean;
  release?: () => void;
}

class SimDevice {
  running: Run | null = null;
  faults: DeviceFaults = {};
  script: ScriptedCommand[] = [];
  lastTransaction: LastTransaction | null = null;
  readonly executed: ExecutedCommand[] = [];

  constructor(
    readonly id: string,
    readonly bridge: SimBridge,
  ) {}

  get init(): KiccInitCode {
    return this.faults.init ?? 'INIT_SUCCESS';
  }

  private misbehaving?: { modes: DeviceFaults['misbehave']; value: Misbehaviours };

  get misbehaviours(): Misbehaviours {
    if (!this.misbehaving || this.misbehaving.modes !== this.faults.misbehave) {
      this.misbehaving = {
        modes: this.faults.misbehave,
        value: new Misbehaviours(this.faults.misbehave),
      };
    }
    return this.misbehaving.value;
  }
}

class SimBridge {
  readonly devices = new Map<string, SimDevice>();
  /** Keyed `bridgeDedupeKey(deviceId, requestId)`. */
  readonly store = new Map<string, StoreEntry>();
  readonly outbox: OutgoingMessage[] = [];
  online = true;
  startedAt: number;
  heartbeatSeq = 0;
  heartbeatTimer?: NodeJS.Timeout;
  /** A heartbeat for a change is on its way (changes within 20 ms share one). */
  changeBeat?: NodeJS.Timeout;
  subscriptions: Subscription[] = [];
  pumping = false;
  readonly shuffler = new SeqShuffler<OutgoingMessage>();

  constructor(
    readonly id: string,
    now: number,
  ) {
    this.startedAt = now;
  }
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
    noAsyncTraces: true,
  });
  const sim = new Simulator(nc, options);
  await sim.start();
  return sim;
}

const ACQUIRER_MERCHANT_ID = '608525310521';

class Simulator implements KiccSimulator {
  readonly counters: KiccSimCounters = {
    commandsReceived: 0,
    executed: { Purchase: 0, PurchaseCancel: 0, GetLastTransaction: 0, CommandCancel: 0 },
    acks: {},
    events: 0,
    results: 0,
    resultsDropped: 0,
    resultsDelayed: 0,
    heartbeats: 0,
    publishRetries: 0,
  };
  private readonly bridges = new Map<string, SimBridge>();
  private readonly devices = new Map<string, SimDevice>();
  private readonly js: JetStreamClient;
  private readonly timing: SimTiming;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly timers = new Set<NodeJS.Timeout>();
  private control?: Subscription;
  private closed = false;
  private transactionCounter = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: KiccSimulatorOptions,
  ) {
    this.js = jetstream(nc);
    this.timing = resolveTiming(options.timing);
    this.intervalMs = options.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS.default;
    this.now = options.now ?? Date.now;
    const specs = options.bridges ?? generateSpecs(options.generate);
    for (const spec of specs) {
      const bridge = new SimBridge(spec.bridgeId, this.now());
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
      this.goOnline(bridge, (index++ * this.intervalMs) / Math.max(1, this.bridges.size));
    }
    if (this.options.control !== false) {
      const subject = this.options.controlSubject ?? KICC_SIM_CONTROL_SUBJECT;
      if (!subject.startsWith('tillbus.sim.kicc-bridge.')) {
        throw new Error('the control subject must start with tillbus.sim.kicc-bridge.');
      }
      this.control = this.nc.subscribe(subject, {
        callback: (_error, msg) => void this.onControl(msg),
      });
    }
    await this.nc.flush();
  }

  // ---------------------------------------------------------------- bus presence

  private goOnline(bridge: SimBridge, firstHeartbeatDelayMs = 0): void {
    bridge.online = true;
    for (const device of bridge.devices.values()) {
      bridge.subscriptions.push(
        this.nc.subscribe(kiccBridgeSubject('command', device.id), {
          // A bridge acts only on edc-command's requests, never on what a JetStream consumer was pointed at
          // (docs/bridge-protocol.md §3.1).
          callback: (_error, msg) => {
            if (!msg.reply?.startsWith('$JS.ACK.')) this.onCommand(device, msg);
          },
        }),
      );
    }
    // right after (re)connecting, then every interval; the first ones are spread so thousands of bridges do not beat at once
    const beat = () => {
      if (!bridge.online || this.closed) return;
      this.heartbeat(bridge);
    };
    let ticks = 0;
    const first = setTimeout(() => {
      this.timers.delete(first);
      beat();
      bridge.heartbeatTimer = setInterval(() => {
        ticks += 1;
        if (beatsSlowly(bridge) && ticks % SLOW_HEARTBEAT_FACTOR !== 0) return;
        beat();
      }, this.intervalMs);
    }, firstHeartbeatDelayMs);
    this.timers.add(first);
    void this.pump(bridge);
  }

  private goOffline(bridge: SimBridge): void {
    bridge.online = false;
    clearInterval(bridge.heartbeatTimer);
    for (const subscription of bridge.subscriptions.splice(0)) subscription.unsubscribe();
  }

  async setBridgeOnline(bridgeId: string, online: boolean): Promise<void> {
    const bridge = this.bridge(bridgeId);
    if (online === bridge.online) return;
    if (online) this.goOnline(bridge);
    else this.goOffline(bridge);
    await this.nc.flush();
  }

  /** "immediately when a device's init or runningRequestId changes" (§5): within 20 ms, one beat for all changes. */
  private changed(bridge: SimBridge): void {
    if (bridge.changeBeat || beatsSlowly(bridge)) return;
    bridge.changeBeat = setTimeout(() => {
      bridge.changeBeat = undefined;
      this.heartbeat(bridge);
    }, 20);
  }

  private heartbeat(bridge: SimBridge): void {
    if (!bridge.online || this.closed) return;
    bridge.heartbeatSeq += 1;
    const message: BridgeMessage = {
      v: BRIDGE_PROTOCOL_VERSION,
      type: 'heartbeat',
      bridgeId: bridge.id,
      seq: bridge.heartbeatSeq,
      sentAt: this.now(),
      body: {
        startedAt: bridge.startedAt,
        intervalMs: this.intervalMs,
        appVersion: 'kicc-sim-1.0.0',
        sdk: { instoreCore: '1.25.0', instoreEdcCmd: '1.1.0' },
        protocolVersions: [BRIDGE_PROTOCOL_VERSION],
        devices: [...bridge.devices.values()]
          .filter((device) => !device.misbehaviours.has('hide-device'))
          .map((device) => ({
            deviceId: device.id,
            provider: 'KICC' as const,
            init: { code: device.init },
            ...(device.running ? { runningRequestId: device.running.requestId } : {}),
          })),
      },
    } as BridgeMessage;
    this.nc.publish(kiccBridgeSubject('heartbeat', bridge.id), this.encode(message));
    this.counters.heartbeats += 1;
  }

  // ---------------------------------------------------------------- commands (§4)

  private onCommand(device: SimDevice, msg: Msg): void {
    this.counters.commandsReceived += 1;
    const misbehaviours = device.misbehaviours;
    let command: BridgeCommand;
    try {
      const parsed = this.parseCommand(msg, misbehaviours);
      if (parsed.type !== 'command')
        throw new KiccProtocolError('INVALID_MESSAGE', 'not a command');
      command = parsed;
    } catch (error) {
      const detail = error instanceof KiccProtocolError ? invalidDetail(error) : 'unreadable';
      return this.replyRaw(msg, device.id, detail);
    }
    const ack = (
      status: BridgeAckStatus,
      extra: { runningRequestId?: string; detail?: string } = {},
    ) => this.ack(msg, command, status, extra, misbehaviours.ackDelayMs());
    if (command.deviceId !== device.id) return ack('unknown_device');
    if (this.now() > command.body.notAfter && !misbehaviours.has('ignore-not-after'))
      return ack('expired');
    const bridge = device.bridge;
    const seen = misbehaviours.has('execute-resend-twice')
      ? undefined
      : bridge.store.get(bridgeDedupeKey(device.id, command.requestId));
    if (seen) {
      ack('duplicate');
      // replay what the store holds, with the original seq and Nats-Msg-Id
      bridge.outbox.push(...seen.published);
      void this.pump(bridge);
      return;
    }
    if (command.commandName === 'CommandCancel') return this.commandCancel(device, command, ack);
    const running = device.running?.requestId ?? device.faults.busyWith ?? undefined;
    // a bridge that lets a second command through: it says accepted, and the SDK would refuse it
    if (running && misbehaviours.has('ignore-busy')) return ack('accepted');
    if (running) return ack('busy', { runningRequestId: running });
    if (device.init !== 'INIT_SUCCESS') return ack('not_ready', { detail: device.init });
    // write ahead: the dedupe record exists before the SDK is called
    const entry = this.remember(device, command.requestId, command.commandName);
    const run: Run = {
      requestId: command.requestId,
      commandName: command.commandName,
      params: command.body.commandRequestParams,
      entry,
      phase: 'started',
      stopped: false,
    };
    device.running = run;
    this.executedOn(device, run);
    ack('accepted');
    this.changed(bridge);
    void this.execute(device, run).catch(() => undefined);
  }

  private commandCancel(
    device: SimDevice,
    command: BridgeCommand,
    ack: (status: BridgeAckStatus, extra?: { runningRequestId?: string }) => void,
  ): void {
    const target = device.running;
    const misbehaviours = device.misbehaviours;
    if (
      !target ||
      target.requestId !== command.body.targetRequestId ||
      misbehaviours.has('cancel-refused')
    ) {
      return ack('not_running', target ? { runningRequestId: target.requestId } : {});
    }
    const entry = this.remember(device, command.requestId, 'CommandCancel');
    const cancel: Run = {
      requestId: command.requestId,
      commandName: 'CommandCancel',
      params: {},
      entry,
      phase: 'started',
      stopped: false,
    };
    this.executedOn(device, cancel);
    ack('accepted');
    void this.later(this.timing.query).then(() => {
      if (device.running !== target || target.stopped) {
        return this.result(device, cancel, 'onCommandFailed', {
          failure: { code: 'CommandInvalid', message: 'nothing to cancel' },
        });
      }
      // "only before reading the card and initiating a payment"
      if (
        target.phase !== 'started' &&
        target.phase !== 'READY' &&
        target.phase !== 'CARD_DETECTED' &&
        !misbehaviours.has('cancel-after-card-read')
      ) {
        return this.result(device, cancel, 'onCommandFailed', {
          failure: { code: 'CommandInvalid', message: 'the card was already read' },
        });
      }
      this.stop(device, target);
      this.event(device, target, 'CANCELLING');
      // the cancelled command ends here: CommandCancel's onSuccess is its end (README, assumptions)
      this.result(device, cancel, 'onSuccess', { responseData: {} });
    });
  }

  private remember(device: SimDevice, requestId: string, commandName: KiccCommandName): StoreEntry {
    const entry: StoreEntry = {
      requestId,
      commandName,
      deviceId: device.id,
      nextSeq: 1,
      published: [],
    };
    device.bridge.store.set(bridgeDedupeKey(device.id, requestId), entry);
    return entry;
  }

  private executedOn(device: SimDevice, run: Run): void {
    this.counters.executed[run.commandName] += 1;
    device.executed.push({
      requestId: run.requestId,
      commandName: run.commandName,
      deviceId: device.id,
      at: this.now(),
    });
  }

  /** The command on `msg`; a bridge with `wrong-version` reads any version as its own. */
  private parseCommand(msg: Msg, misbehaviours: Misbehaviours): BridgeMessage {
    try {
      return parseBridgeMessage(msg.data, { subject: msg.subject });
    } catch (error) {
      if (
        !(error instanceof KiccProtocolError) ||
        error.code !== 'UNSUPPORTED_VERSION' ||
        !misbehaviours.has('wrong-version')
      )
        throw error;
      const raw = decodeJson(msg.data) as Record<string, unknown>;
      return parseBridgeMessage(JSON.stringify({ ...raw, v: BRIDGE_PROTOCOL_VERSION }), {
        subject: msg.subject,
      });
    }
  }

  private ack(
    msg: Msg,
    command: BridgeCommand,
    status: BridgeAckStatus,
    extra: { runningRequestId?: string; detail?: string },
    delayMs = 0,
  ): void {
    this.counters.acks[status] = (this.counters.acks[status] ?? 0) + 1;
    const ack: BridgeMessage = {
      v: BRIDGE_PROTOCOL_VERSION,
      type: 'ack',
      deviceId: command.deviceId,
      requestId: command.requestId,
      commandName: command.commandName,
      sentAt: this.now(),
      body: { status, ...extra },
    } as BridgeMessage;
    if (delayMs > 0) void this.later(delayMs).then(() => msg.respond(this.encode(ack)));
    else msg.respond(this.encode(ack));
  }

  /** A command that did not parse cannot be echoed: the ack names the device and an invalid requestId placeholder. */
  private replyRaw(msg: Msg, deviceId: string, detail: string): void {
    this.counters.acks.invalid = (this.counters.acks.invalid ?? 0) + 1;
    msg.respond(
      this.encode({
        v: BRIDGE_PROTOCOL_VERSION,
        type: 'ack',
        deviceId,
        requestId: 'unparsable',
        commandName: 'Purchase',
        sentAt: this.now(),
        body: { status: 'invalid', detail },
      } as BridgeMessage),
    );
  }

  // ---------------------------------------------------------------- the device

  private async execute(device: SimDevice, run: Run): Promise<void> {
    switch (run.commandName) {
      case 'Purchase':
        return this.purchase(device, run);
      case 'PurchaseCancel':
        return this.purchaseCancel(device, run);
      case 'GetLastTransaction':
        return this.getLastTransaction(device, run);
      default:
        return undefined;
    }
  }

  private nextScripted(device: SimDevice, run: Run): ScriptedCommand {
    const amount = (run.params.paymentAmount as { value?: unknown } | undefined)?.value;
    return device.script.shift() ?? { outcome: outcomeForAmount(amount) };
  }

  private async purchase(device: SimDevice, run: Run): Promise<void> {
    const { outcome, notices } = this.nextScripted(device, run);
    if (failsImmediately(outcome)) {
      await this.later(this.timing.query);
      return this.finish(device, run, outcome, false);
    }
    const steps: [number, KiccPhaseEventCode][] = [
      [this.timing.ready, 'READY'],
      [this.timing.cardDetected, 'CARD_DETECTED'],
      [this.timing.cardRead, 'CARD_READ_COMPLETED'],
    ];
    if (needsSignature(run.params.paymentAmount as { value?: unknown; currency?: unknown })) {
      steps.push([this.timing.signature, 'PENDING_SIGNATURE']);
    }
    steps.push([this.timing.startTransaction, 'START_TRANSACTION']);
    for (const [delay, code] of steps) {
      if (!(await this.step(device, run, delay, code))) return;
      if (code === 'READY') for (const notice of notices ?? []) this.event(device, run, notice);
    }
    await this.later(this.timing.result);
    if (run.stopped) return;
    this.finish(device, run, outcome, true);
  }

  private async purchaseCancel(device: SimDevice, run: Run): Promise<void> {
    const { outcome } = this.nextScripted(device, run);
    if (failsImmediately(outcome)) {
      await this.later(this.timing.query);
      return this.finish(device, run, outcome, false);
    }
    if (!(await this.step(device, run, this.timing.startTransaction, 'START_TRANSACTION'))) return;
    await this.later(this.timing.result);
    if (run.stopped) return;
    this.finish(device, run, outcome, true);
  }

  private async getLastTransaction(device: SimDevice, run: Run): Promise<void> {
    await this.later(this.timing.query);
    if (run.stopped) return;
    const last = device.lastTransaction;
    device.running = null;
    if ((device.faults.failLastTransaction ?? 0) > 0) {
      device.faults.failLastTransaction = (device.faults.failLastTransaction ?? 0) - 1;
      return this.result(device, run, 'onCommandFailed', {
        failure: { code: 'CommandResponseTimeout', message: 'the query got no answer' },
      });
    }
    if (!last) {
      return this.result(device, run, 'onBusinessFailed', {
        failure: { code: 'PROCESS_FAIL', message: 'no transaction on this device' },
        responseData: {
          requestId: run.requestId,
          result: { resultCode: 'PROCESS_FAIL', resultMessage: 'no transaction on this device' },
          acquirerInfo: {},
        },
      });
    }
    const { requestId, ...data } = last.responseData;
    const withRequestId =
      device.faults.lastTransactionRequestId ?? this.options.lastTransactionRequestId;
    const responseData = withRequestId ? { requestId, ...data } : data;
    this.result(device, run, 'onSuccess', { responseData });
  }

  /** Waits, emits the event, and holds there if told to. False when the command was stopped meanwhile. */
  private async step(
    device: SimDevice,
    run: Run,
    delay: number,
    code: KiccPhaseEventCode,
  ): Promise<boolean> {
    await this.later(delay);
    if (run.stopped) return false;
    run.phase = code;
    this.event(device, run, code);
    if (device.faults.holdAt === code && run.released) {
      run.released = false;
    } else if (device.faults.holdAt === code) {
      await new Promise<void>((resolve) => {
        run.release = resolve;
      });
      run.release = undefined;
    }
    return !run.stopped;
  }

  private finish(device: SimDevice, run: Run, outcome: SimOutcome, reachedAcquirer: boolean): void {
    device.running = null;
    const charged =
      outcome.callback === 'onSuccess' ||
      (outcome.callback === 'onCommandFailed' && outcome.charged === true);
    if (reachedAcquirer && (charged || outcome.callback === 'onBusinessFailed')) {
      device.lastTransaction = this.transaction(run, charged ? 'SUCCESS' : outcome.code);
    }
    if (outcome.callback === 'onSuccess') {
      const { requestId: _ignored, ...data } = device.lastTransaction!.responseData;
      void _ignored;
      this.result(device, run, 'onSuccess', {
        responseData: { requestId: run.requestId, ...omit(data, 'responseCommand') },
      });
    } else if (outcome.callback === 'onBusinessFailed') {
      const message = `simulated ${outcome.code}`;
      this.result(device, run, 'onBusinessFailed', {
        failure: { code: outcome.code, message },
        responseData: {
          requestId: run.requestId,
          result: { resultCode: outcome.code, resultMessage: message },
          acquirerInfo: {},
        },
      });
    } else {
      this.result(device, run, 'onCommandFailed', {
        failure: { code: outcome.code, message: `simulated ${outcome.code}` },
      });
    }
    this.changed(device.bridge);
  }

  /** The transaction as the device keeps it for GetLastTransaction, with a fresh acquirer id and metadata. */
  private transaction(run: Run, resultCode: string): LastTransaction {
    this.transactionCounter += 1;
    const params = run.params as {
      paymentAmount: { value: string; currency: string };
      taxAmount?: { value: string; currency: string };
      tipAmount: { value: string; currency: string };
      creditPayPlan?: { installmentNum?: string };
      acquirerInfo?: { acquirerTerminalId?: string; acquirerRegistrationNo?: string };
    };
    const currency = params.paymentAmount.currency;
    const success = resultCode === 'SUCCESS';
    const serial = String(this.transactionCounter).padStart(6, '0');
    const acquirerInfo: Record<string, unknown> = {
      acquirerResultCode: success ? '0000' : '8001',
      acquirerResultMessage: success ? 'approved' : 'declined',
      acquirerTransactionId: `${Date.now().toString().slice(-4)}${serial}`,
      acquirerTerminalId: params.acquirerInfo?.acquirerTerminalId ?? '0788888',
      acquirerRegistrationNo: params.acquirerInfo?.acquirerRegistrationNo ?? '0216001234',
      acquirerMerchantId: ACQUIRER_MERCHANT_ID,
      acquirerApprovalNum: success ? String(16_000_000 + this.transactionCounter) : '',
      acquirerName: 'KICC',
      notice: ' 매입사제출테스트 거래임',
      acquirerMetaData: Buffer.from(
        JSON.stringify({ tx: serial, nonce: randomBytes(12).toString('hex') }),
      ).toString('base64'),
    };
    if (needsSignature(params.paymentAmount) && run.commandName === 'Purchase') {
      acquirerInfo.signData = randomBytes(24).toString('base64');
    }
    const responseData: Record<string, unknown> = {
      requestId: run.requestId,
      responseCommand: run.commandName,
      paymentAmount: params.paymentAmount,
      taxAmount: params.taxAmount ?? { value: '0', currency },
      tipAmount: params.tipAmount,
      creditPayPlan: { installmentNum: params.creditPayPlan?.installmentNum ?? '0' },
      result: { resultCode, resultMessage: success ? '' : `simulated ${resultCode}` },
      acquirerInfo,
    };
    if (run.commandName === 'Purchase') {
      responseData.paymentResultInfo = {
        cardBin: '52364979',
        paymentMethodId: '',
        issuerCode: 'KB',
        funding: 'CREDIT',
        paymentMethodRegion: 'KR',
        paymentMethodType: 'CARD',
      };
    }
    return { requestId: run.requestId, responseData };
  }

  private stop(device: SimDevice, run: Run): void {
    run.stopped = true;
    run.release?.();
    if (device.running === run) device.running = null;
  }

  // ---------------------------------------------------------------- publishing (§4 step 7)

  private event(device: SimDevice, run: Run, code: KiccEventCode): void {
    if (!device.misbehaviours.reportsEvent(code)) return;
    this.counters.events += 1;
    this.emit(device, run, { type: 'event', body: { code } });
  }

  private result(
    device: SimDevice,
    run: Run,
    callback: BridgeResultCallback,
    body: { responseData?: Record<string, unknown>; failure?: { code: string; message?: string } },
  ): void {
    const faults = device.faults;
    const payment = run.commandName === 'Purchase' || run.commandName === 'PurchaseCancel';
    if (payment && (faults.dropResults ?? 0) > 0) {
      // the SDK never called back: nothing is stored or published
      faults.dropResults = (faults.dropResults ?? 0) - 1;
      this.counters.resultsDropped += 1;
      return;
    }
    this.counters.results += 1;
    const misbehaviours = device.misbehaviours;
    const delay = (payment ? (faults.delayResultMs ?? 0) : 0) + misbehaviours.resultDelayMs();
    this.emit(device, run, { type: 'result', body: { callback, ...body } }, delay);
    if (misbehaviours.has('duplicate-results')) {
      this.emit(device, run, { type: 'result', body: { callback, ...body } }, delay);
    }
  }

  private emit(
    device: SimDevice,
    run: Run,
    part: { type: 'event' | 'result'; body: Record<string, unknown> },
    delayMs = 0,
  ): void {
    const seq = run.entry.nextSeq++;
    const message = {
      v: BRIDGE_PROTOCOL_VERSION,
      type: part.type,
      deviceId: device.id,
      requestId: run.requestId,
      commandName: run.commandName,
      seq,
      sentAt: this.now(),
      body: part.body,
    } as unknown as BridgeMessage;
    const misbehaviours = device.misbehaviours;
    const wrong = misbehaviours.outgoing(message as unknown as Record<string, unknown>);
    const outgoing: OutgoingMessage = {
      subject: kiccBridgeSubject('events', device.id),
      msgId: bridgeMessageId(device.id, run.requestId, seq),
      data: wrong ? JSON.stringify(wrong) : this.encode(message),
      seq,
      type: part.type,
      corePublish: misbehaviours.has('core-publish'),
      noResend: misbehaviours.has('no-resend'),
    };
    run.entry.published.push(outgoing);
    const bridge = device.bridge;
    const send = () => {
      const shuffle = misbehaviours.has('out-of-order-seq');
      bridge.outbox.push(...bridge.shuffler.order(run.requestId, outgoing, shuffle));
      void this.pump(bridge);
    };
    if (delayMs > 0) {
      this.counters.resultsDelayed += 1;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        send();
      }, delayMs);
      this.timers.add(timer);
      return;
    }
    send();
  }

  /** Publishes the outbox in order, pipelined, until every message has its PubAck; retries across outages. */
  private async pump(bridge: SimBridge): Promise<void> {
    if (bridge.pumping) return;
    bridge.pumping = true;
    try {
      while (bridge.outbox.length > 0 && bridge.online && !this.closed) {
        // one turn first, so messages emitted together go out in one batch
        await new Promise((resolve) => setImmediate(resolve));
        const batch = bridge.outbox.slice(0, 64);
        const results = await Promise.allSettled(
          batch.map((message) => {
            if (message.corePublish)
              return Promise.resolve(this.nc.publish(message.subject, message.data));
            const h = headers();
            h.set('Nats-Msg-Id', message.msgId);
            return this.js.publish(message.subject, message.data, { headers: h, timeout: 5_000 });
          }),
        );
        // a bridge with `no-resend` forgets what it could not publish
        const failures = results.filter(
          (result, i) => result.status === 'rejected' && !batch[i].noResend,
        );
        const firstFailure = failures.length === 0 ? -1 : results.indexOf(failures[0]);
        // everything before the first failure is stored; from there on, retry in order (the ids dedupe)
        bridge.outbox.splice(0, firstFailure === -1 ? batch.length : firstFailure);
        if (firstFailure !== -1) {
          this.counters.publishRetries += 1;
          await this.later(200);
        }
      }
    } finally {
      bridge.pumping = false;
    }
  }

  async flushed(): Promise<void> {
    while ([...this.bridges.values()].some((b) => b.online && (b.outbox.length > 0 || b.pumping))) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  private encode(message: BridgeMessage): string {
    return this.options.skipCodecChecks ? JSON.stringify(message) : encodeBridgeMessage(message);
  }

  private later(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  // ---------------------------------------------------------------- control

  executed(deviceId?: string): ExecutedCommand[] {
    if (deviceId) return [...this.device(deviceId).executed];
    return [...this.devices.values()]
      .flatMap((device) => device.executed)
      .sort((a, b) => a.at - b.at);
  }

  setFaults(deviceId: string, faults: DeviceFaults): void {
    const device = this.device(deviceId);
    // an unknown mode is refused here, not at the next command
    if (faults.misbehave !== undefined) new Misbehaviours(faults.misbehave);
    const initChanged = faults.init !== undefined && faults.init !== device.init;
    device.faults = { ...device.faults, ...faults };
    if (faults.holdAt === null) this.release(deviceId);
    if (initChanged) this.changed(device.bridge);
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
    const device = this.device(deviceId);
    const run = device.running;
    if (!run) return;
    this.stop(device, run);
    this.event(device, run, 'DEVICE_INITIALIZE');
    if (
      options.charged &&
      (run.commandName === 'Purchase' || run.commandName === 'PurchaseCancel')
    ) {
      device.lastTransaction = this.transaction(run, 'SUCCESS');
    }
    this.result(device, run, 'onCommandFailed', {
      failure: { code: 'CommandResponseTimeout', message: 'the device restarted' },
    });
    this.changed(device.bridge);
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

  private async onControl(msg: Msg): Promise<void> {
    let reply: unknown;
    try {
      reply = await this.control_(
        JSON.parse(Buffer.from(msg.data).toString('utf8')) as ControlRequest,
      );
    } catch (error) {
      reply = { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
    if (msg.reply) msg.respond(JSON.stringify(reply));
  }

  private async control_(request: ControlRequest): Promise<unknown> {
    switch (request?.op) {
      case 'stats':
        return { ok: true, counters: this.counters };
      case 'executed':
        return { ok: true, executed: this.executed(request.deviceId) };
      case 'faults':
        this.setFaults(request.deviceId, request.faults ?? {});
        return { ok: true };
      case 'script':
        this.script(request.deviceId, ...(request.commands ?? []));
        return { ok: true };
      case 'release':
        // without a deviceId: every held device (the benchmark lets thousands go at once)
        for (const id of request.deviceId ? [request.deviceId] : this.deviceIds) this.release(id);
        return { ok: true };
      case 'restartDevice':
        this.restartDevice(request.deviceId, { charged: request.charged });
        return { ok: true };
      case 'bridgeOnline':
        await this.setBridgeOnline(request.bridgeId, request.online);
        return { ok: true };
      case 'device':
        return { ok: true, ...this.deviceState(request.deviceId) };
      default:
        return {
          ok: false,
          error:
            'op must be one of stats, executed, faults, script, release, restartDevice, bridgeOnline, device',
        };
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const bridge of this.bridges.values()) {
      clearInterval(bridge.heartbeatTimer);
      clearTimeout(bridge.changeBeat);
      for (const device of bridge.devices.values())
        if (device.running) this.stop(device, device.running);
    }
    this.control?.unsubscribe();
    await this.nc.drain().catch(() => this.nc.close());
  }
}

/** Requests on KICC_SIM_CONTROL_SUBJECT. */
export type ControlRequest =
  | { op: 'stats' }
  | { op: 'executed'; deviceId?: string }
  | { op: 'faults'; deviceId: string; faults?: DeviceFaults }
  | { op: 'script'; deviceId: string; commands?: ScriptedCommand[] }
  | { op: 'release'; deviceId?: string }
  | { op: 'restartDevice'; deviceId: string; charged?: boolean }
  | { op: 'bridgeOnline'; bridgeId: string; online: boolean }
  | { op: 'device'; deviceId: string };

function beatsSlowly(bridge: SimBridge): boolean {
  return [...bridge.devices.values()].some((d) => d.misbehaviours.has('slow-heartbeat'));
}

/** The `invalid` ack's detail: a version refusal names the versions this bridge speaks (§8). */
function invalidDetail(error: KiccProtocolError): string {
  return error.code === 'UNSUPPORTED_VERSION'
    ? `UNSUPPORTED_VERSION: this bridge speaks protocol versions ${BRIDGE_PROTOCOL_VERSION}`
    : error.code;
}

function generateSpecs(generate: KiccSimulatorOptions['generate']): BridgeSpec[] {
  if (!generate) throw new Error('give either bridges or generate');
  const prefix = generate.prefix ?? 'sim';
  return Array.from({ length: generate.bridges }, (_, b) => ({
    bridgeId: `${prefix}-b${b}`,
    devices: Array.from({ length: generate.devicesPerBridge }, (_, d) => `${prefix}-b${b}-d${d}`),
  }));
}

function omit<T extends Record<string, unknown>>(value: T, key: string): Record<string, unknown> {
  const { [key]: _dropped, ...rest } = value;
  void _dropped;
  return rest;
}
