import { Inject, Injectable } from '@nestjs/common';
import { errors, nuid, type NatsConnection } from '@nats-io/transport-node';
import {
  BRIDGE_JOURNAL_VERSION,
  KiccProtocolError,
  isBridgeJournalState,
  kiccBridgeSubject,
  readBridgeMessage,
  type BridgeJournal,
} from '@tillbus/protocols-kicc';
import type { KiccCommandName } from '@tillbus/result-codes';
import { CLOCK, type Clock, NatsConnectionManager, outgoingHeaders } from '@tillbus/messaging';

export type JournalAnswer =
  | { kind: 'answer'; journal: BridgeJournal }
  /** No reply in time, nobody on the subject, or a reply this version cannot use: the journal said nothing. */
  | { kind: 'none'; reason: string; unrecognisedState?: string };

/** Where bridges' replies come back: the one prefix a bridge may publish replies to. */
export function bridgeReplyPrefix(connection: NatsConnectionManager): string {
  return `${connection.inboxPrefix}.bridge`;
}

/**
 * Asks a v2 bridge what became of a requestId (docs/bridge-protocol.md §12); with `close`, closing it if the bridge
 * never got it. Any failure is "no answer": the caller goes on as a v1 bridge would make it.
 */
export async function askJournal(
  nc: NatsConnection,
  command: { deviceId: string; requestId: string; commandName: KiccCommandName },
  sentAt: number,
  timeoutMs: number,
  replyPrefix: string,
  close = true,
): Promise<JournalAnswer> {
  let reply;
  try {
    reply = await nc.request(
      kiccBridgeSubject('journal', command.deviceId),
      JSON.stringify({
        v: BRIDGE_JOURNAL_VERSION,
        type: 'journal_query',
        deviceId: command.deviceId,
        requestId: command.requestId,
        commandName: command.commandName,
        sentAt,
        body: { close },
      }),
      {
        timeout: timeoutMs,
        headers: outgoingHeaders(),
        noMux: true,
        reply: `${replyPrefix}.${nuid.next()}`,
      },
    );
  } catch (error) {
    if (error instanceof errors.TimeoutError) return { kind: 'none', reason: 'no answer in time' };
    if (
      error instanceof errors.NoRespondersError ||
      (error instanceof errors.RequestError && error.isNoResponders())
    )
      return { kind: 'none', reason: 'no journal on the bus' };
    throw error;
  }
  try {
    const { message } = readBridgeMessage(reply.data);
    if (message.type !== 'journal') return { kind: 'none', reason: `a ${message.type}` };
    if (message.deviceId !== command.deviceId || message.requestId !== command.requestId)
      return { kind: 'none', reason: 'the answer names another command' };
    // a state a newer bridge added says nothing this version can act on
    if (!isBridgeJournalState(message.body.state))
      return {
        kind: 'none',
        reason: 'a state this version does not know',
        unrecognisedState: String(message.body.state).slice(0, 64),
      };
    return { kind: 'answer', journal: message };
  } catch (error) {
    return {
      kind: 'none',
      reason: error instanceof KiccProtocolError ? error.code : 'unreadable',
    };
  }
}

/** A command a journal is asked about. */
export interface JournalSubject {
  deviceId: string;
  requestId: string;
  commandName: KiccCommandName;
}

/**
 * This replica's line to the bridges' journals: recovery asks and closes (JournalCheck), presence asks without
 * closing to see whether a quiet bridge still answers (BridgeProbe). Never throws: a failure is "no answer".
 */
@Injectable()
export class JournalLink {
  private readonly replies: string;

  constructor(
    private readonly connection: NatsConnectionManager,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    this.replies = bridgeReplyPrefix(connection);
  }

  async ask(
    command: JournalSubject,
    options: { timeoutMs: number; close: boolean },
  ): Promise<JournalAnswer> {
    try {
      return await askJournal(
        this.connection.connection,
        command,
        this.clock.now(),
        options.timeoutMs,
        this.replies,
        options.close,
      );
    } catch (error) {
      return { kind: 'none', reason: (error as Error).message };
    }
  }
}
