import type { Msg } from '@nats-io/transport-node';
import {
  BRIDGE_PROTOCOL_VERSION,
  KiccProtocolError,
  bridgeDedupeKey,
  decodeJson,
  parseBridgeMessage,
  type BridgeAckStatus,
  type BridgeCommand,
  type BridgeMessage,
} from '@tillbus/protocols-kicc';
import type { KiccCommandName } from '@tillbus/result-codes';
import type { Run, SimDevice, StoreEntry } from './bridge-model';
import type { BusLink } from './bus-link';
import type { DeviceRunner } from './device-runner';
import { isPaymentCommand } from './faults';
import type { Misbehaviours } from './misbehaviour';
import type { SimRuntime } from './runtime';

type Ack = (
  status: BridgeAckStatus,
  extra?: { runningRequestId?: string; detail?: string },
) => void;

/**
 * The bridge's side of a command request (docs/bridge-protocol.md §4): parse it, check it, de-duplicate it against
 * the store, answer with an ack, and hand what is accepted to the device.
 */
export class CommandIntake {
  constructor(
    private readonly runtime: SimRuntime,
    private readonly bus: BusLink,
    private readonly runner: DeviceRunner,
  ) {}

  onCommand(device: SimDevice, msg: Msg): void {
    this.runtime.counters.commandsReceived += 1;
    const misbehaviours = device.misbehaviours;
    const bridge = device.bridge;
    let command: BridgeCommand;
    try {
      const parsed = this.parseCommand(msg, misbehaviours);
      if (parsed.type !== 'command')
        throw new KiccProtocolError('INVALID_MESSAGE', 'not a command');
      if (!bridge.protocolVersions.includes(parsed.v))
        throw new KiccProtocolError('UNSUPPORTED_VERSION');
      command = parsed;
    } catch (error) {
      const detail =
        error instanceof KiccProtocolError ? invalidDetail(error, bridge) : 'unreadable';
      return this.replyRaw(msg, device.id, detail);
    }
    if (isPaymentCommand(command.commandName) && (device.faults.dropCommands ?? 0) > 0) {
      // lost on the way: the bridge never sees it, so nothing answers, journals or starts
      device.faults.dropCommands = (device.faults.dropCommands ?? 0) - 1;
      this.runtime.counters.commandsDropped += 1;
      return;
    }
    const ack: Ack = (status, extra = {}) =>
      this.ack(msg, command, status, extra, misbehaviours.ackDelayMs());
    if (command.deviceId !== device.id) return ack('unknown_device');
    if (this.runtime.now() > command.body.notAfter && !misbehaviours.has('ignore-not-after'))
      return ack('expired');
    const seen = misbehaviours.has('execute-resend-twice')
      ? undefined
      : bridge.store.get(bridgeDedupeKey(device.id, command.requestId));
    // closed by a journal query before it arrived (§12.3): edc-command has already failed it
    if (seen?.closed) return ack('expired');
    if (seen) {
      ack('duplicate');
      this.bus.replay(bridge, seen.published);
      return;
    }
    if (command.commandName === 'CommandCancel') return this.commandCancel(device, command, ack);
    const running = device.running?.requestId ?? device.faults.busyWith ?? undefined;
    // a bridge that lets a second command through: it says accepted, and the SDK would refuse it
    if (running && misbehaviours.has('ignore-busy')) return ack('accepted');
    if (running) return ack('busy', { runningRequestId: running });
    if (device.init !== 'INIT_SUCCESS') return ack('not_ready', { detail: device.init });
    // write ahead: the dedupe record exists before the SDK is called
    const run = this.start(
      device,
      command.requestId,
      command.commandName,
      command.body.commandRequestParams,
    );
    device.running = run;
    this.executedOn(device, run);
    ack('accepted');
    this.bus.changed(bridge);
    void this.runner.execute(device, run).catch(() => undefined);
  }

  private commandCancel(device: SimDevice, command: BridgeCommand, ack: Ack): void {
    const target = device.running;
    if (
      !target ||
      target.requestId !== command.body.targetRequestId ||
      device.misbehaviours.has('cancel-refused')
    ) {
      return ack('not_running', target ? { runningRequestId: target.requestId } : {});
    }
    const cancel = this.start(device, command.requestId, 'CommandCancel', {});
    this.executedOn(device, cancel);
    ack('accepted');
    void this.runner.cancel(device, target, cancel);
  }

  /** A run of the command, with its dedupe record written to the bridge's store. */
  private start(
    device: SimDevice,
    requestId: string,
    commandName: KiccCommandName,
    params: Record<string, unknown>,
  ): Run {
    const entry: StoreEntry = {
      requestId,
      commandName,
      deviceId: device.id,
      nextSeq: 1,
      published: [],
    };
    device.bridge.store.set(bridgeDedupeKey(device.id, requestId), entry);
    return { requestId, commandName, params, entry, phase: 'started', stopped: false };
  }

  private executedOn(device: SimDevice, run: Run): void {
    this.runtime.counters.executed[run.commandName] += 1;
    if (isPaymentCommand(run.commandName)) device.lastSentRequestId = run.requestId;
    device.executed.push({
      requestId: run.requestId,
      commandName: run.commandName,
      deviceId: device.id,
      at: this.runtime.now(),
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
    const counters = this.runtime.counters;
    counters.acks[status] = (counters.acks[status] ?? 0) + 1;
    const ack: BridgeMessage = {
      v: BRIDGE_PROTOCOL_VERSION,
      type: 'ack',
      deviceId: command.deviceId,
      requestId: command.requestId,
      commandName: command.commandName,
      sentAt: this.runtime.now(),
      body: { status, ...extra },
    } as BridgeMessage;
    if (delayMs > 0)
      void this.runtime.later(delayMs).then(() => msg.respond(this.runtime.encode(ack)));
    else msg.respond(this.runtime.encode(ack));
  }

  /** A command that did not parse cannot be echoed: the ack names the device and an invalid requestId placeholder. */
  private replyRaw(msg: Msg, deviceId: string, detail: string): void {
    const counters = this.runtime.counters;
    counters.acks.invalid = (counters.acks.invalid ?? 0) + 1;
    msg.respond(
      this.runtime.encode({
        v: BRIDGE_PROTOCOL_VERSION,
        type: 'ack',
        deviceId,
        requestId: 'unparsable',
        commandName: 'Purchase',
        sentAt: this.runtime.now(),
        body: { status: 'invalid', detail },
      } as BridgeMessage),
    );
  }
}

/** The `invalid` ack's detail: a version refusal names the versions this bridge speaks (§8). */
function invalidDetail(error: KiccProtocolError, bridge: SimDevice['bridge']): string {
  return error.code === 'UNSUPPORTED_VERSION'
    ? `UNSUPPORTED_VERSION: this bridge speaks protocol versions ${bridge.protocolVersions.join(', ')}`
    : error.code;
}
