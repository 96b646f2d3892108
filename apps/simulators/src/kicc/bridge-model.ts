import type { Subscription } from '@nats-io/transport-node';
import { BRIDGE_JOURNAL_VERSION } from '@tillbus/protocols-kicc';
import type { KiccCommandName, KiccEventCode, KiccInitCode } from '@tillbus/result-codes';
import type { DeviceFaults } from './faults';
import { Misbehaviours, SeqShuffler } from './misbehaviour';
import type { ScriptedCommand } from './scenarios';

export interface BridgeSpec {
  bridgeId: string;
  devices: string[];
}

export interface ExecutedCommand {
  requestId: string;
  commandName: KiccCommandName;
  deviceId: string;
  at: number;
}

/** The device's last transaction, as GetLastTransaction reports it. */
export interface LastTransaction {
  requestId: string;
  responseData: Record<string, unknown>;
}

export interface OutgoingMessage {
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
export interface StoreEntry {
  requestId: string;
  commandName: KiccCommandName;
  deviceId: string;
  nextSeq: number;
  published: OutgoingMessage[];
  /** v2: a journal query closed this requestId before any command with it arrived; it can never start. */
  closed?: boolean;
}

export interface Run {
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

export class SimDevice {
  running: Run | null = null;
  faults: DeviceFaults = {};
  script: ScriptedCommand[] = [];
  lastTransaction: LastTransaction | null = null;
  /** The last Purchase or PurchaseCancel handed to the device (v2 `lastSentRequestId`). */
  lastSentRequestId: string | null = null;
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

export class SimBridge {
  readonly devices = new Map<string, SimDevice>();
  /** Keyed `bridgeDedupeKey(deviceId, requestId)`. */
  readonly store = new Map<string, StoreEntry>();
  readonly outbox: OutgoingMessage[] = [];
  online = true;
  startedAt: number;
  heartbeatSeq = 0;
  /** When it last beat (runtime clock): a round trip with edc-command beats again only past a second of quiet. */
  lastBeatAt = 0;
  /**
   * Its heartbeats are lost on the way (a WAN cut its own connection never saw): it beats as usual and nothing
   * arrives; commands and journal queries still reach it.
   */
  heartbeatsLost = false;
  heartbeatTimer?: NodeJS.Timeout;
  /** A heartbeat for a change is on its way (changes within 20 ms share one). */
  changeBeat?: NodeJS.Timeout;
  subscriptions: Subscription[] = [];
  pumping = false;
  readonly shuffler = new SeqShuffler<OutgoingMessage>();

  constructor(
    readonly id: string,
    now: number,
    /** What its heartbeat lists; a bridge that lists 2 serves the journal (docs/bridge-protocol.md §12). */
    readonly protocolVersions: readonly number[],
  ) {
    this.startedAt = now;
  }

  get speaksJournal(): boolean {
    return this.protocolVersions.includes(BRIDGE_JOURNAL_VERSION);
  }

  beatsSlowly(): boolean {
    return [...this.devices.values()].some((d) => d.misbehaviours.has('slow-heartbeat'));
  }
}

export function generateSpecs(
  generate: { bridges: number; devicesPerBridge: number; prefix?: string } | undefined,
): BridgeSpec[] {
  if (!generate) throw new Error('give either bridges or generate');
  const prefix = generate.prefix ?? 'sim';
  return Array.from({ length: generate.bridges }, (_, b) => ({
    bridgeId: `${prefix}-b${b}`,
    devices: Array.from({ length: generate.devicesPerBridge }, (_, d) => `${prefix}-b${b}-d${d}`),
  }));
}
