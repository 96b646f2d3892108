import type { JsMsg } from '@nats-io/jetstream';
import { HEADERS } from '@tillbus/contracts';
import {
  BusMetrics,
  DurableConsumer,
  edcBridgeParkedConsumer,
  NatsConnectionManager,
} from '@tillbus/messaging';
import { JsonLogger } from '@tillbus/observability';
import { readBridgeMessage } from '@tillbus/protocols-kicc';
import type { EdcMetrics } from '../metrics';
import type { BridgeTraffic } from '../record/step';

export class RecordNotReadableYet extends Error {
  constructor(requestId: string) {
    super(`no record for requestId ${requestId} yet; the message is parked and looked at again`);
    this.name = 'RecordNotReadableYet';
  }
}

/**
 * The bridge messages the inbox dead-lettered because their command's record could not be found: parked in the
 * dead-letter stream (and alerted on), never dropped, and applied as soon as the record can be read. A message
 * older than a record's retention can no longer find one: it is acknowledged and counted `parked_expired`.
 */
export class ParkedBridgeMessages {
  private readonly consumer: DurableConsumer<JsMsg>;

  constructor(
    connection: NatsConnectionManager,
    private readonly apply: (message: BridgeTraffic) => Promise<boolean>,
    private readonly recordTtlMs: number,
    retryMs: number,
    private readonly metrics: EdcMetrics,
    busMetrics: BusMetrics,
    private readonly logger: JsonLogger,
  ) {
    this.consumer = new DurableConsumer<JsMsg>(
      connection,
      {
        ...edcBridgeParkedConsumer(),
        backoffMs: [retryMs, 2 * retryMs, 10 * retryMs],
        parse: (_body, msg) => msg,
        handle: (msg) => this.look(msg),
      },
      logger,
      busMetrics,
    );
  }

  start(): Promise<void> {
    return this.consumer.start();
  }

  stop(graceMs: number): Promise<boolean> {
    return this.consumer.stop(graceMs);
  }

  private async look(msg: JsMsg): Promise<void> {
    const parkedForMs = Date.now() - msg.info.timestampNanos / 1_000_000;
    const subject = msg.headers?.get(HEADERS.deadLetterSubject) ?? '';
    // It was read once before it was parked: a message that no longer reads is not ours to retry.
    const { message } = readBridgeMessage(msg.data, { subject });
    if (message.type !== 'event' && message.type !== 'result') return;
    if (await this.apply(message)) {
      this.metrics.bridgeMessages.inc({ type: message.type, result: 'reapplied' });
      this.logger.event('info', 'a parked bridge message was applied', {
        deviceId: message.deviceId,
        requestId: message.requestId,
        type: message.type,
        parkedForMs,
      });
      return;
    }
    if (parkedForMs > this.recordTtlMs) {
      this.metrics.bridgeMessages.inc({ type: message.type, result: 'parked_expired' });
      this.logger.event('warn', 'a parked bridge message outlived any record it could belong to', {
        deviceId: message.deviceId,
        requestId: message.requestId,
        type: message.type,
      });
      return;
    }
    throw new RecordNotReadableYet(message.requestId);
  }
}
