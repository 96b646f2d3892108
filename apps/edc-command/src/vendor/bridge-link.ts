import { errors, nuid, type NatsConnection } from '@nats-io/transport-node';
import {
  BRIDGE_PROTOCOL_VERSION,
  KiccProtocolError,
  isBridgeAckStatus,
  kiccBridgeSubject,
  parseBridgeMessage,
  type BridgeAck,
  type BridgeAckStatus,
} from '@tillbus/protocols-kicc';
import type { KiccCommandName } from '@tillbus/result-codes';
import { outgoingHeaders } from '@tillbus/messaging';

export interface OutgoingCommand {
  deviceId: string;
  requestId: string;
  commandName: KiccCommandName;
  commandRequestParams: Record<string, unknown>;
  notAfter: number;
  targetRequestId?: string;
  recoveryOf?: string;
}

export type SendResult =
  | { kind: 'ack'; status: BridgeAckStatus; runningRequestId?: string; detail?: string }
  /** Nobody subscribes to the device's command subject: no bridge drives it right now, nothing started. */
  | { kind: 'no_responders' }
  /** No ack in time: the bridge may or may not have the command; send the same one again until notAfter. */
  | { kind: 'no_ack' }
  /** The reply was not an ack for this command. */
  | { kind: 'bad_ack'; reason: string };

/** The `command` envelope of docs/bridge-protocol.md §3.1, from parts edc-command has already validated. */
export function commandEnvelope(command: OutgoingCommand, sentAt: number): Record<string, unknown> {
  return {
    v: BRIDGE_PROTOCOL_VERSION,
    type: 'command',
    deviceId: command.deviceId,
    requestId: command.requestId,
    commandName: command.commandName,
    sentAt,
    body: {
      commandRequestParams: command.commandRequestParams,
      notAfter: command.notAfter,
      ...(command.targetRequestId ? { targetRequestId: command.targetRequestId } : {}),
      ...(command.recoveryOf ? { recoveryOf: command.recoveryOf } : {}),
    },
  };
}

/**
 * Sends a command to the bridge of its device and reads the ack. The params were validated on submit, so the
 * envelope is serialised without a second validation pass (a unit test checks that it always parses).
 *
 * With `replyPrefix`, the ack comes back on `<replyPrefix>.<unique>` rather than the connection's shared reply
 * inbox: a store's leaf node needs permission to publish where the ack goes (auth.conf gives bridges
 * `_INBOX_edc-command.bridge.>` only), and must not be able to answer anything else edc-command waits for.
 */
export async function sendToBridge(
  nc: NatsConnection,
  command: OutgoingCommand,
  sentAt: number,
  timeoutMs: number,
  replyPrefix?: string,
): Promise<SendResult> {
  let reply;
  try {
    reply = await nc.request(
      kiccBridgeSubject('command', command.deviceId),
      JSON.stringify(commandEnvelope(command, sentAt)),
      {
        timeout: timeoutMs,
        headers: outgoingHeaders(),
        ...(replyPrefix ? { noMux: true, reply: `${replyPrefix}.${nuid.next()}` } : {}),
      },
    );
  } catch (error) {
    if (error instanceof errors.TimeoutError) return { kind: 'no_ack' };
    if (error instanceof errors.NoRespondersError) return { kind: 'no_responders' };
    if (error instanceof errors.RequestError && error.isNoResponders())
      return { kind: 'no_responders' };
    throw error;
  }
  let ack: BridgeAck;
  try {
    const message = parseBridgeMessage(reply.data);
    if (message.type !== 'ack')
      return { kind: 'bad_ack', reason: `a ${message.type} instead of an ack` };
    ack = message;
  } catch (error) {
    return {
      kind: 'bad_ack',
      reason: error instanceof KiccProtocolError ? error.code : 'unreadable',
    };
  }
  if (ack.requestId !== command.requestId || ack.deviceId !== command.deviceId) {
    // a bridge that answered `invalid` to an unparsable command cannot echo the ids
    if (ack.body.status === 'invalid')
      return { kind: 'ack', status: 'invalid', detail: ack.body.detail };
    return { kind: 'bad_ack', reason: 'the ack names another command' };
  }
  // An ack status this version does not know (a newer bridge) says nothing certain about the command: it is resent
  // until an ack we know answers, as for an unreadable ack (the bridge answers a repeat with `duplicate`).
  if (!isBridgeAckStatus(ack.body.status))
    return {
      kind: 'bad_ack',
      reason: `unrecognised ack status ${String(ack.body.status).slice(0, 64)}`,
    };
  return {
    kind: 'ack',
    status: ack.body.status,
    runningRequestId: ack.body.runningRequestId,
    detail: ack.body.detail,
  };
}
