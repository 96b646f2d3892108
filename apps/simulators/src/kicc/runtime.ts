import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  encodeBridgeMessage,
  type BridgeAckStatus,
  type BridgeMessage,
} from '@tillbus/protocols-kicc';
import type { KiccCommandName } from '@tillbus/result-codes';

export interface KiccSimCounters {
  commandsReceived: number;
  /** Command messages lost on the way by `dropCommands`. */
  commandsDropped: number;
  /** v2 journal queries answered. */
  journalQueries: number;
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

/** What every part of the simulator shares: the connection, the clock, the counters and the pending timers. */
export class SimRuntime {
  readonly js: JetStreamClient;
  readonly counters: KiccSimCounters = {
    commandsReceived: 0,
    commandsDropped: 0,
    journalQueries: 0,
    executed: { Purchase: 0, PurchaseCancel: 0, GetLastTransaction: 0, CommandCancel: 0 },
    acks: {},
    events: 0,
    results: 0,
    resultsDropped: 0,
    resultsDelayed: 0,
    heartbeats: 0,
    publishRetries: 0,
  };
  /** Cleared on close, so no step of a command outlives the simulator. */
  readonly timers = new Set<NodeJS.Timeout>();
  closed = false;

  constructor(
    readonly nc: NatsConnection,
    readonly now: () => number,
    private readonly skipCodecChecks: boolean,
  ) {
    this.js = jetstream(nc);
  }

  encode(message: BridgeMessage): string {
    return this.skipCodecChecks ? JSON.stringify(message) : encodeBridgeMessage(message);
  }

  later(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => this.after(ms, () => resolve()));
  }

  after(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, ms);
    this.timers.add(timer);
  }

  clearTimers(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
