import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock, NatsConnectionManager } from '@tillbus/messaging';
import { JsonLogger } from '@tillbus/observability';
import { sendToBridge, type OutgoingCommand, type SendResult } from '../vendor/bridge-link';
import { EDC_CONFIG, EdcCommandConfig } from '../config';
import { EventPublisher } from './event-publisher';
import type { StoredCancel, StoredCommand } from '../record/model';
import { RunState } from '../lifecycle/run-state';
import { RecordStore } from '../store/stores';
import { CommandWriter } from './command-writer';
import { BridgePresence } from '../vendor/presence';
import { bridgeReplyPrefix } from '../vendor/journal-link';
import { refusalOf, type Refusal } from './refusals';

/** How often a command goes again to a bridge that is not back on the bus yet after this replica's reconnect. */
const RETURN_RETRY_MS = 200;

/** The command of a record, as the bridge gets it. */
export function outgoingCommand(record: StoredCommand): OutgoingCommand {
  return {
    deviceId: record.deviceId,
    requestId: record.requestId,
    commandName: record.commandName,
    commandRequestParams: record.params,
    notAfter: record.notAfter,
  };
}

/**
 * Sends commands to their bridge and reads the acks. No ack means "maybe", so the same command goes out again
 * (the bridge dedupes it) until notAfter, and the deadline decides the rest.
 */
@Injectable()
export class BridgeDispatch {
  /** Where bridges' acks come back (sendToBridge): a store's leaf node may publish there and nowhere else of ours. */
  private readonly bridgeReplies: string;

  constructor(
    private readonly connection: NatsConnectionManager,
    @Inject(EDC_CONFIG) private readonly config: EdcCommandConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly records: RecordStore,
    private readonly writer: CommandWriter,
    private readonly publisher: EventPublisher,
    private readonly presence: BridgePresence,
    private readonly logger: JsonLogger,
    private readonly run: RunState,
  ) {
    this.bridgeReplies = bridgeReplyPrefix(connection);
  }

  /**
   * The first send of a new command. A refusal is returned (nothing started: the caller undoes the command);
   * otherwise its first events go out, and without an ack the command goes out again until acked.
   */
  async dispatch(key: string, record: StoredCommand): Promise<Refusal | null> {
    const command = outgoingCommand(record);
    const onError = (error: unknown) =>
      this.logger.event('warn', 'could not send a command to its bridge', {
        deviceId: record.deviceId,
        requestId: record.requestId,
        error,
      });
    let sent = await this.send(command, onError);
    // nobody on the device's subject yet, after this replica's own reconnect: the bridge may be reconnecting too
    while (
      sent.kind === 'no_responders' &&
      this.presence.awaitingReturn(record.deviceId) &&
      this.clock.now() < record.notAfter &&
      !this.run.stopping
    ) {
      await new Promise((resolve) => setTimeout(resolve, RETURN_RETRY_MS));
      sent = await this.send(command, onError);
    }
    const refusal = refusalOf(sent);
    if (refusal) return refusal;
    // this replica created the record: its first event needs no look-up in the stream
    void this.publisher.publish(record, 1);
    if (sent.kind !== 'ack') {
      if (sent.kind === 'bad_ack')
        this.logger.event('warn', 'unreadable ack', {
          deviceId: record.deviceId,
          reason: sent.reason,
        });
      void this.resendUntilAcked(key, outgoingCommand(record));
    }
    return null;
  }

  /** The same command, again, until an ack says what happened or notAfter passes. */
  async resendUntilAcked(key: string, command: OutgoingCommand): Promise<void> {
    let resends = 0;
    let last: SendResult['kind'] | undefined;
    while (!this.run.stopping && this.clock.now() < command.notAfter) {
      // an unreadable record (the store is away) is no reason to stop: the bridge dedupes a repeat
      const found = await this.records.read(key).then(
        (read) => read ?? 'gone',
        () => 'unreadable' as const,
      );
      if (found === 'gone') return;
      const record = found === 'unreadable' ? undefined : found.value;
      if (
        record &&
        (record.kind !== 'command' || record.lifecycle.phase !== 'sent' || record.lastSeq > 0)
      )
        return;
      const sent = await this.send(command);
      resends++;
      last = sent.kind;
      if (sent.kind === 'ack') {
        const refusal = refusalOf(sent);
        if (refusal) await this.writer.apply(key, { type: 'refused', code: refusal.status });
        return;
      }
      if (sent.kind === 'no_responders')
        await new Promise((resolve) => setTimeout(resolve, this.config.EDC_ACK_TIMEOUT_MS));
    }
    if (this.run.stopping) return;
    // whether the bridge has it is unknown from here: the deadline and recovery decide
    this.logger.event('warn', 'no ack from the bridge before notAfter', {
      deviceId: command.deviceId,
      requestId: command.requestId,
      resends,
      last: last ?? 'none',
    });
  }

  /** The GetLastTransaction of a recovery attempt; a refusal fails the attempt. */
  async sendRecovery(
    key: string,
    deviceId: string,
    requestId: string,
    gltId: string,
    notAfter: number,
  ): Promise<void> {
    const sent = await this.send({
      deviceId,
      requestId: gltId,
      commandName: 'GetLastTransaction',
      commandRequestParams: {},
      notAfter,
      recoveryOf: requestId,
    });
    const refusal = refusalOf(sent);
    if (refusal)
      await this.writer.apply(key, {
        type: 'recovery_refused',
        requestId: gltId,
        code: refusal.status,
      });
  }

  async sendCancel(cancel: StoredCancel): Promise<Refusal | null> {
    const sent = await this.send({
      deviceId: cancel.deviceId,
      requestId: cancel.requestId,
      commandName: 'CommandCancel',
      commandRequestParams: {},
      notAfter: cancel.notAfter,
      targetRequestId: cancel.targetRequestId,
    });
    return refusalOf(sent);
  }

  /** One send; a failure to send is no ack: the command may or may not have left. */
  private async send(
    command: OutgoingCommand,
    onError?: (error: unknown) => void,
  ): Promise<SendResult> {
    try {
      return await sendToBridge(
        this.connection.connection,
        command,
        this.clock.now(),
        this.config.EDC_ACK_TIMEOUT_MS,
        this.bridgeReplies,
      );
    } catch (error) {
      onError?.(error);
      return { kind: 'no_ack' };
    }
  }
}
