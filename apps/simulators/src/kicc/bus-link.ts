import { headers, type Msg } from '@nats-io/transport-node';
import {
  BRIDGE_PROTOCOL_VERSION,
  bridgeMessageId,
  kiccBridgeSubject,
  type BridgeMessage,
} from '@tillbus/protocols-kicc';
import type { OutgoingMessage, Run, SimBridge, SimDevice } from './bridge-model';
import { SLOW_HEARTBEAT_FACTOR } from './misbehaviour';
import type { SimRuntime } from './runtime';

const ROUND_TRIP_BEAT_MIN_GAP_MS = 1_000;

/**
 * A bridge's presence on the bus (docs/bridge-protocol.md): its command subscriptions, its heartbeats, and its
 * outbox of events and results, published to JetStream in order with `Nats-Msg-Id`.
 */
export class BusLink {
  constructor(
    private readonly runtime: SimRuntime,
    readonly intervalMs: number,
  ) {}

  goOnline(
    bridge: SimBridge,
    onCommand: (device: SimDevice, msg: Msg) => void,
    onJournalQuery: (device: SimDevice, msg: Msg) => void,
    firstHeartbeatDelayMs = 0,
  ): void {
    bridge.online = true;
    for (const device of bridge.devices.values()) {
      if (bridge.speaksJournal)
        bridge.subscriptions.push(
          this.runtime.nc.subscribe(kiccBridgeSubject('journal', device.id), {
            callback: (_error, msg) => onJournalQuery(device, msg),
          }),
        );
      bridge.subscriptions.push(
        this.runtime.nc.subscribe(kiccBridgeSubject('command', device.id), {
          // A bridge acts only on edc-command's requests, never on what a JetStream consumer was pointed at
          // (docs/bridge-protocol.md §3.1).
          callback: (_error, msg) => {
            if (!msg.reply?.startsWith('$JS.ACK.')) onCommand(device, msg);
          },
        }),
      );
    }
    // right after (re)connecting, then every interval; the first ones are spread so thousands of bridges do not beat at once
    const beat = () => {
      if (!bridge.online || this.runtime.closed) return;
      this.heartbeat(bridge);
    };
    let ticks = 0;
    this.runtime.after(firstHeartbeatDelayMs, () => {
      beat();
      bridge.heartbeatTimer = setInterval(() => {
        ticks += 1;
        if (bridge.beatsSlowly() && ticks % SLOW_HEARTBEAT_FACTOR !== 0) return;
        beat();
      }, this.intervalMs);
    });
    void this.pump(bridge);
  }

  goOffline(bridge: SimBridge): void {
    bridge.online = false;
    clearInterval(bridge.heartbeatTimer);
    for (const subscription of bridge.subscriptions.splice(0)) subscription.unsubscribe();
  }

  /** Stops the bridge's heartbeats for good (the simulator closes). */
  stopBeating(bridge: SimBridge): void {
    clearInterval(bridge.heartbeatTimer);
    clearTimeout(bridge.changeBeat);
  }

  /** "immediately after each (re)connect" (§5): the bus was away, so edc-command hears the bridge at once. */
  reconnected(bridge: SimBridge): void {
    this.heartbeat(bridge);
  }

  /**
   * edc-command reached the bridge (a command or a journal query): "as soon as a round trip with edc-command works
   * again" (§5) it beats, so replicas that stopped hearing its heartbeats hear it at once; at most once a second.
   */
  roundTrip(bridge: SimBridge): void {
    if (Date.now() - bridge.lastBeatAt >= ROUND_TRIP_BEAT_MIN_GAP_MS) this.heartbeat(bridge);
  }

  /** "immediately when a device's init or runningRequestId changes" (§5): within 20 ms, one beat for all changes. */
  changed(bridge: SimBridge): void {
    if (bridge.changeBeat || bridge.beatsSlowly()) return;
    bridge.changeBeat = setTimeout(() => {
      bridge.changeBeat = undefined;
      this.heartbeat(bridge);
    }, 20);
  }

  private heartbeat(bridge: SimBridge): void {
    if (!bridge.online || this.runtime.closed) return;
    bridge.heartbeatSeq += 1;
    const message: BridgeMessage = {
      v: BRIDGE_PROTOCOL_VERSION,
      type: 'heartbeat',
      bridgeId: bridge.id,
      seq: bridge.heartbeatSeq,
      sentAt: this.runtime.now(),
      body: {
        startedAt: bridge.startedAt,
        intervalMs: this.intervalMs,
        appVersion: 'kicc-sim-1.0.0',
        sdk: { instoreCore: '1.25.0', instoreEdcCmd: '1.1.0' },
        protocolVersions: [...bridge.protocolVersions],
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
    bridge.lastBeatAt = Date.now();
    this.runtime.counters.heartbeats += 1;
    if (bridge.heartbeatsLost) return;
    this.runtime.nc.publish(
      kiccBridgeSubject('heartbeat', bridge.id),
      this.runtime.encode(message),
    );
  }

  /** Stores an event or result of the run (under its next seq) and queues it for publishing. */
  emit(
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
      sentAt: this.runtime.now(),
      body: part.body,
    } as unknown as BridgeMessage;
    const misbehaviours = device.misbehaviours;
    const wrong = misbehaviours.outgoing(message as unknown as Record<string, unknown>);
    const outgoing: OutgoingMessage = {
      subject: kiccBridgeSubject('events', device.id),
      msgId: bridgeMessageId(device.id, run.requestId, seq),
      data: wrong ? JSON.stringify(wrong) : this.runtime.encode(message),
      seq,
      type: part.type,
      corePublish: misbehaviours.has('core-publish'),
      noResend: misbehaviours.has('no-resend'),
    };
    const bridge = device.bridge;
    // a result held back (`delayResultMs`) is the SDK calling back late: the journal learns it when it is sent
    const send = () => {
      run.entry.published.push(outgoing);
      const shuffle = misbehaviours.has('out-of-order-seq');
      bridge.outbox.push(...bridge.shuffler.order(run.requestId, outgoing, shuffle));
      void this.pump(bridge);
    };
    if (delayMs > 0) {
      this.runtime.counters.resultsDelayed += 1;
      this.runtime.after(delayMs, send);
      return;
    }
    send();
  }

  /** Publishes again what the dedupe store holds, with the original seq and Nats-Msg-Id. */
  replay(bridge: SimBridge, published: readonly OutgoingMessage[]): void {
    bridge.outbox.push(...published);
    void this.pump(bridge);
  }

  /** Publishes the outbox in order, pipelined, until every message has its PubAck; retries across outages. */
  private async pump(bridge: SimBridge): Promise<void> {
    if (bridge.pumping) return;
    bridge.pumping = true;
    try {
      while (bridge.outbox.length > 0 && bridge.online && !this.runtime.closed) {
        // one turn first, so messages emitted together go out in one batch
        await new Promise((resolve) => setImmediate(resolve));
        const batch = bridge.outbox.slice(0, 64);
        const results = await Promise.allSettled(batch.map((message) => this.publish(message)));
        // a bridge with `no-resend` forgets what it could not publish
        const failures = results.filter(
          (result, i) => result.status === 'rejected' && !batch[i].noResend,
        );
        const firstFailure = failures.length === 0 ? -1 : results.indexOf(failures[0]);
        // everything before the first failure is stored; from there on, retry in order (the ids dedupe)
        bridge.outbox.splice(0, firstFailure === -1 ? batch.length : firstFailure);
        if (firstFailure !== -1) {
          this.runtime.counters.publishRetries += 1;
          await this.runtime.later(200);
        }
      }
    } finally {
      bridge.pumping = false;
    }
  }

  private publish(message: OutgoingMessage): Promise<unknown> {
    if (message.corePublish)
      return Promise.resolve(this.runtime.nc.publish(message.subject, message.data));
    const h = headers();
    h.set('Nats-Msg-Id', message.msgId);
    return this.runtime.js.publish(message.subject, message.data, { headers: h, timeout: 5_000 });
  }

  async flushed(bridges: Iterable<SimBridge>): Promise<void> {
    const all = [...bridges];
    while (all.some((b) => b.online && (b.outbox.length > 0 || b.pumping))) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}
