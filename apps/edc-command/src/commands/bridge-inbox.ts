import { Inject, Injectable } from '@nestjs/common';
import type { JsMsg } from '@nats-io/jetstream';
import {
  BusMetrics,
  DurableConsumer,
  edcBridgeConsumer,
  NatsConnectionManager,
  PermanentError,
} from '@tillbus/messaging';
import { JsonLogger } from '@tillbus/observability';
import {
  KiccProtocolError,
  readBridgeMessage,
  type ReadBridgeMessage,
} from '@tillbus/protocols-kicc';
import { EDC_CONFIG, EdcCommandConfig } from '../config';
import { recordKey } from '../store/keys';
import { EdcMetrics } from '../metrics';
import type { BridgeTraffic, Note } from '../record/step';
import { RecordStore } from '../store/stores';
import { CommandWriter } from './command-writer';
import { ParkedBridgeMessages, RecordNotReadableYet } from './parked-bridge-messages';

/**
 * Transient JetStream errors (an election, a heal) are retried at most this far apart, so the inbox resumes within
 * about 2 s of quorum returning.
 */
const RETRY_MS = [50, 250, 1_000, 2_000];
/**
 * Looks for a command's record before its message is parked: records are written before dispatch and read from the
 * stream leader, so a missing one is foreign traffic, an expired record, or a record that cannot be read yet.
 */
const UNKNOWN_COMMAND_LOOKS = 5;

const CATCH_UP_POLL_MS = 100;

/** The bridges' events and results, from their durable JetStream consumer, written into the records. */
@Injectable()
export class BridgeInbox {
  private readonly consumer: DurableConsumer<JsMsg>;
  private readonly parked: ParkedBridgeMessages;

  constructor(
    @Inject(EDC_CONFIG) private readonly config: EdcCommandConfig,
    private readonly connection: NatsConnectionManager,
    private readonly records: RecordStore,
    private readonly writer: CommandWriter,
    private readonly metrics: EdcMetrics,
    busMetrics: BusMetrics,
    private readonly logger: JsonLogger,
  ) {
    this.consumer = new DurableConsumer<JsMsg>(
      connection,
      {
        ...edcBridgeConsumer(config),
        backoffMs: RETRY_MS,
        parse: (_body, msg) => msg,
        handle: (msg) => this.onBridgeMessage(msg),
      },
      logger,
      busMetrics,
    );
    this.parked = new ParkedBridgeMessages(
      connection,
      (message) => this.applyBridgeMessage(message),
      config.EDC_RECORD_TTL_MS,
      config.EDC_PARKED_RETRY_MS,
      metrics,
      busMetrics,
      logger,
    );
  }

  async start(): Promise<void> {
    await this.consumer.start();
    await this.parked.start();
  }

  async stop(): Promise<void> {
    await Promise.all([
      this.consumer.stop(this.config.SHUTDOWN_GRACE_MS),
      this.parked.stop(this.config.SHUTDOWN_GRACE_MS),
    ]);
  }

  /**
   * Resolves true once the bridge consumer has nothing left to deliver and nothing delivered unacknowledged (every
   * replica's share read), false when `maxMs` passed first or `abandoned` says to stop looking.
   */
  async caughtUp(maxMs: number, abandoned: () => boolean): Promise<boolean> {
    const { stream, durable } = edcBridgeConsumer(this.config);
    const until = Date.now() + maxMs;
    while (Date.now() < until && !abandoned()) {
      try {
        const jsm = await this.connection.jetstreamManager();
        const info = await jsm.consumers.info(stream, durable);
        if (info.num_pending === 0 && info.num_ack_pending === 0) return true;
      } catch {
        // JetStream may not answer yet right after the broker's return: look again
      }
      await new Promise((resolve) => setTimeout(resolve, CATCH_UP_POLL_MS));
    }
    return false;
  }

  /** One message from the bridge stream: read it, then apply it to its command. */
  async onBridgeMessage(msg: JsMsg): Promise<void> {
    let message;
    try {
      const read = readBridgeMessage(msg.data, { subject: msg.subject });
      message = read.message;
      this.reportUnrecognised(read, msg.subject);
    } catch (error) {
      const code = error instanceof KiccProtocolError ? error.code : 'INVALID_MESSAGE';
      this.metrics.bridgeMessages.inc({
        type: 'unknown',
        result: code === 'CARD_DATA_REFUSED' ? 'card_data_refused' : 'invalid',
      });
      // paths and codes only: the refused message may hold what must never be logged
      this.logger.event('warn', 'refused a bridge message', {
        subject: msg.subject,
        code,
        ...(error instanceof KiccProtocolError && error.details ? { details: error.details } : {}),
      });
      return;
    }
    if (message.type !== 'event' && message.type !== 'result') {
      this.metrics.bridgeMessages.inc({ type: message.type, result: 'invalid' });
      return;
    }
    if (await this.applyBridgeMessage(message)) return;
    // Not acknowledged: retried, then parked in the dead letters (alerted on) and applied from there.
    if (msg.info.deliveryCount < UNKNOWN_COMMAND_LOOKS)
      throw new RecordNotReadableYet(message.requestId);
    this.metrics.bridgeMessages.inc({ type: message.type, result: 'parked' });
    throw new PermanentError(
      `no record for requestId ${message.requestId} on ${message.deviceId} after ${UNKNOWN_COMMAND_LOOKS} looks; parked`,
    );
  }

  /** Codes a newer bridge sent that this version does not know: the message is used, the values reported. */
  private reportUnrecognised(read: ReadBridgeMessage, subject: string): void {
    if (read.unrecognised.length === 0) return;
    for (const { field } of read.unrecognised) {
      this.metrics.bridgeUnrecognised.inc({
        type: read.message.type,
        field: field.replace(/\[\d+\]/g, '[]'),
      });
    }
    // codes only (schema paths and short vendor codes), never a body
    this.logger.event('warn', 'a bridge message carries values this version does not know', {
      subject,
      type: read.message.type,
      unrecognised: read.unrecognised.map(({ field, value }) => ({
        field,
        value: String(value).slice(0, 64),
      })),
    });
  }

  /**
   * Applies a bridge event or result to its record; traffic of a recovery's GetLastTransaction to the command it
   * recovers. False when there is no record of that command on that device.
   */
  async applyBridgeMessage(message: BridgeTraffic): Promise<boolean> {
    const key = recordKey(message.requestId);
    const found = await this.records.read(key);
    // a requestId names one command on one device: traffic from another device is not that command's
    const record = found?.value.deviceId === message.deviceId ? found.value : undefined;
    if (!record) {
      this.metrics.bridgeMessages.inc({ type: message.type, result: 'unknown_command' });
      this.logger.event('warn', 'bridge traffic for a command tillbus does not know', {
        deviceId: message.deviceId,
        requestId: message.requestId,
        commandName: message.commandName,
        type: message.type,
      });
      return false;
    }
    let notes: Note[] = [];
    if (record.kind === 'command') {
      notes = (await this.writer.apply(key, { type: 'bridge', message })).notes;
    } else if (record.kind === 'alias') {
      notes = (
        await this.writer.apply(recordKey(record.aliasOf), {
          type: 'recovery_message',
          message,
        })
      ).notes;
    } else {
      const done = await this.writer.applyCancel(key, { type: 'bridge', message });
      notes = done.notes;
      if (done.changed && done.record && done.record.phase !== 'sent') {
        await this.writer.apply(recordKey(record.targetRequestId), {
          type: 'cancel_result',
          cancelRequestId: record.requestId,
          confirmed: done.record.phase === 'succeeded',
          code: done.record.code ?? undefined,
        });
      }
    }
    const result = notes.some((n) => n.kind === 'duplicate')
      ? 'duplicate'
      : notes.some((n) => n.kind === 'stale')
        ? 'stale'
        : notes.some((n) => n.kind === 'gap')
          ? 'gap'
          : 'applied';
    this.metrics.bridgeMessages.inc({ type: message.type, result });
    return true;
  }
}
