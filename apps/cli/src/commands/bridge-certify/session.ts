import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import {
  connect,
  errors,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';
import {
  BRIDGE_PROTOCOL_VERSION,
  KICC_BRIDGE_STREAM,
  KICC_BRIDGE_SUBJECT_WILDCARDS,
  KiccProtocolError,
  encodeBridgeMessage,
  kiccBridgeSubject,
  parseBridgeMessage,
  type BridgeMessage,
} from '@tillbus/protocols-kicc';
import type { KiccCommandName } from '@tillbus/result-codes';

/**
 * The certifier's side of the bus: it plays edc-command toward the bridge for one test device (docs/bridge-protocol.md
 * §1), and records everything it sees, raw, so each check can judge the traffic as a whole. It never needs a hook
 * in the bridge: commands go out on the device's command subject, acks come back as replies, and events and results
 * are seen twice: as the bridge publishes them (a plain subscription on the events subject sees every publish
 * attempt, with its headers and whether it asked for a PubAck) and as the stream stored them.
 */

/** One message from the bridge, as it arrived. */
export interface Seen {
  kind: 'ack' | 'events' | 'heartbeat';
  subject: string;
  at: number;
  bytes: number;
  /** The raw JSON object, when it was JSON (checks read it even when the codec refuses it). */
  raw: Record<string, unknown> | null;
  /** The codec's reading, or why it refused. */
  message: BridgeMessage | null;
  error: { code: string; message: string } | null;
  msgId?: string;
  /** A JetStream publish asks for a PubAck on a reply subject; a core publish does not. */
  wantsPubAck: boolean;
}

export interface SentCommand {
  requestId: string;
  commandName: KiccCommandName;
  sentAt: number;
  ack: Seen | null;
  ackMs: number | null;
  /** Why no ack: `timeout` or `no_responders`. */
  noAck?: 'timeout' | 'no_responders';
}

export interface StoredMessage {
  msgId: string | undefined;
  seq: number | undefined;
  requestId: string | undefined;
  type: string | undefined;
}

export interface SessionOptions {
  servers: string;
  user?: string;
  pass?: string;
  deviceId: string;
  bridgeId?: string;
  /** How long a command request waits for its ack; above the 2 s deadline so lateness can be measured. */
  ackWaitMs: number;
  now?: () => number;
}

export interface OutgoingCommand {
  requestId: string;
  commandName: KiccCommandName;
  params: Record<string, unknown>;
  notAfter: number;
  targetRequestId?: string;
  recoveryOf?: string;
  /** Sent as it is, without the codec (version negotiation sends a version we do not speak). */
  raw?: Record<string, unknown>;
}

/** The consumer the certifier reads the stream with; its name is fixed so NATS permissions can name it. */
export function certifyConsumerName(deviceId: string): string {
  return `certify-${deviceId}`;
}

/** The certifier's inbox prefix, so its identity reads replies meant for it and nothing else. */
export function certifyInboxPrefix(deviceId: string): string {
  return `_INBOX_certify_${deviceId}`;
}

export class CertifySession {
  readonly seen: Seen[] = [];
  readonly sent: SentCommand[] = [];
  readonly startedAt: number;
  private readonly subscriptions: Subscription[] = [];
  private waiters = new Set<() => void>();

  private constructor(
    readonly nc: NatsConnection,
    readonly options: SessionOptions,
  ) {
    this.startedAt = this.now();
  }

  static async open(options: SessionOptions): Promise<CertifySession> {
    const nc = await connect({
      servers: options.servers.split(',').map((s) => s.trim()),
      user: options.user,
      pass: options.pass,
      name: `tillbus-bridge-certify-${options.deviceId}`,
      inboxPrefix: certifyInboxPrefix(options.deviceId),
      // the optional outage step restarts the broker under us
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      noAsyncTraces: true,
    });
    const session = new CertifySession(nc, options);
    session.listen();
    await nc.flush();
    return session;
  }

  now(): number {
    return (this.options.now ?? Date.now)();
  }

  get deviceId(): string {
    return this.options.deviceId;
  }

  private listen(): void {
    const events = kiccBridgeSubject('events', this.deviceId);
    this.subscriptions.push(
      this.nc.subscribe(events, { callback: (_e, msg) => void this.record('events', msg) }),
    );
    const heartbeats = this.options.bridgeId
      ? kiccBridgeSubject('heartbeat', this.options.bridgeId)
      : KICC_BRIDGE_SUBJECT_WILDCARDS.heartbeat;
    this.subscriptions.push(
      this.nc.subscribe(heartbeats, { callback: (_e, msg) => void this.record('heartbeat', msg) }),
    );
  }

  private record(kind: Seen['kind'], msg: Msg): Seen {
    const seen = readSeen(kind, msg.subject, msg.data, msg.headers, this.now());
    seen.wantsPubAck = kind === 'events' && Boolean(msg.reply);
    // heartbeats of other bridges (no --bridge given) are not ours
    if (kind === 'heartbeat' && !this.options.bridgeId && !namesDevice(seen, this.deviceId)) {
      return seen;
    }
    this.seen.push(seen);
    for (const wake of this.waiters) wake();
    return seen;
  }

  /** Sends a command as edc-command does (core request/reply) and records the ack and how long it took. */
  async send(command: OutgoingCommand): Promise<SentCommand> {
    const sentAt = this.now();
    const envelope = command.raw ?? {
      v: BRIDGE_PROTOCOL_VERSION,
      type: 'command',
      deviceId: this.deviceId,
      requestId: command.requestId,
      commandName: command.commandName,
      sentAt,
      body: {
        commandRequestParams: command.params,
        notAfter: command.notAfter,
        ...(command.targetRequestId ? { targetRequestId: command.targetRequestId } : {}),
        ...(command.recoveryOf ? { recoveryOf: command.recoveryOf } : {}),
      },
    };
    const data = command.raw
      ? JSON.stringify(envelope)
      : encodeBridgeMessage(envelope as unknown as BridgeMessage);
    const sent: SentCommand = {
      requestId: command.requestId,
      commandName: command.commandName,
      sentAt,
      ack: null,
      ackMs: null,
    };
    this.sent.push(sent);
    try {
      const reply = await this.nc.request(kiccBridgeSubject('command', this.deviceId), data, {
        timeout: this.options.ackWaitMs,
      });
      sent.ackMs = this.now() - sentAt;
      sent.ack = readSeen('ack', reply.subject, reply.data, reply.headers, this.now());
      this.seen.push(sent.ack);
    } catch (error) {
      if (error instanceof errors.TimeoutError) sent.noAck = 'timeout';
      else if (
        error instanceof errors.NoRespondersError ||
        (error instanceof errors.RequestError && error.isNoResponders())
      )
        sent.noAck = 'no_responders';
      else throw error;
    }
    return sent;
  }

  /** Messages on the events subject for a requestId, in arrival order (every publish attempt). */
  traffic(requestId: string): Seen[] {
    return this.seen.filter((s) => s.kind === 'events' && s.raw?.requestId === requestId);
  }

  heartbeats(): Seen[] {
    return this.seen.filter((s) => s.kind === 'heartbeat');
  }

  /**
   * Resolves with the first truthy answer of `probe`, re-asked on every arrival and every `tickMs`; null when
   * `timeoutMs` passes. `tick` is called each second with the time left (the countdown a person sees).
   */
  async until<T>(
    probe: () => T | null | undefined | false,
    timeoutMs: number,
    tick?: (leftMs: number) => void,
  ): Promise<T | null> {
    const deadline = this.now() + timeoutMs;
    let lastTick = this.now();
    for (;;) {
      const value = probe();
      if (value) return value;
      const left = deadline - this.now();
      if (left <= 0) return null;
      if (tick && this.now() - lastTick >= 1000) {
        lastTick = this.now();
        tick(left);
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(left, 100));
        this.waiters.add(wake);
      });
    }
  }

  /** Whether the stream answers at all (the outage step watches it go and come back). */
  async streamAvailable(): Promise<boolean> {
    try {
      const jsm = await jetstreamManager(this.nc, { timeout: 1000 });
      await jsm.streams.info(KICC_BRIDGE_STREAM);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * What the stream holds for the test device since the certification started, read with a consumer of the
   * certifier's own (filtered to the device, no acks: edc-command's durable is never touched).
   */
  async stored(): Promise<StoredMessage[]> {
    const jsm = await jetstreamManager(this.nc, { timeout: 3000 });
    const name = certifyConsumerName(this.deviceId);
    await jsm.consumers.delete(KICC_BRIDGE_STREAM, name).catch(() => undefined);
    await jsm.consumers.add(KICC_BRIDGE_STREAM, {
      name,
      filter_subject: kiccBridgeSubject('events', this.deviceId),
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: new Date(this.startedAt - 1000).toISOString(),
      inactive_threshold: 60_000_000_000,
    });
    const out: StoredMessage[] = [];
    try {
      const consumer = await jetstream(this.nc).consumers.get(KICC_BRIDGE_STREAM, name);
      let pending = (await consumer.info(true)).num_pending;
      while (pending > 0) {
        const batch = await consumer.fetch({ max_messages: Math.min(pending, 256), expires: 2000 });
        let got = 0;
        for await (const msg of batch) {
          got += 1;
          const raw = safeJson(msg.data);
          out.push({
            msgId: msg.headers?.get('Nats-Msg-Id') || undefined,
            seq: typeof raw?.seq === 'number' ? raw.seq : undefined,
            requestId: typeof raw?.requestId === 'string' ? raw.requestId : undefined,
            type: typeof raw?.type === 'string' ? raw.type : undefined,
          });
        }
        if (got === 0) break;
        pending -= got;
      }
    } finally {
      await jsm.consumers.delete(KICC_BRIDGE_STREAM, name).catch(() => undefined);
    }
    return out;
  }

  async close(): Promise<void> {
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    await this.nc.close().catch(() => undefined);
  }
}

export function readSeen(
  kind: Seen['kind'],
  subject: string,
  data: Uint8Array,
  headers: MsgHdrs | undefined,
  at: number,
): Seen {
  const seen: Seen = {
    kind,
    subject,
    at,
    bytes: data.byteLength,
    raw: safeJson(data),
    message: null,
    error: null,
    msgId: headers?.get('Nats-Msg-Id') || undefined,
    wantsPubAck: false,
  };
  try {
    seen.message = parseBridgeMessage(data, kind === 'ack' ? {} : { subject });
  } catch (error) {
    seen.error =
      error instanceof KiccProtocolError
        ? { code: error.code, message: error.message }
        : { code: 'UNREADABLE', message: String(error) };
  }
  return seen;
}

function safeJson(data: Uint8Array): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(data).toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

function namesDevice(seen: Seen, deviceId: string): boolean {
  const devices = (seen.raw?.body as { devices?: unknown } | undefined)?.devices;
  return (
    Array.isArray(devices) &&
    devices.some((d) => (d as { deviceId?: unknown } | null)?.deviceId === deviceId)
  );
}
