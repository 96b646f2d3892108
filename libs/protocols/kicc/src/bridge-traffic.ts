import { KICC_SUCCESS_RESULT_CODE, isKiccEventCode, type EdcEvent } from '@tillbus/result-codes';
import { HEARTBEAT_MISSES_BEFORE_OFFLINE, type BridgeMessage } from './bridge-schemas';
import {
  BRIDGE_ACK_STATUSES,
  isBridgeAckStatus,
  isBridgeResultCallback,
} from './bridge-vocabulary';

/** Where a sequenced message stands against the last seq seen for its requestId. */
export function classifySeq(lastSeq: number, seq: number): 'next' | 'duplicate' | 'gap' {
  if (seq <= lastSeq) return 'duplicate';
  return seq === lastSeq + 1 ? 'next' : 'gap';
}

export function isBridgeOffline(lastHeartbeatAt: number, intervalMs: number, now: number): boolean {
  return now - lastHeartbeatAt > intervalMs * HEARTBEAT_MISSES_BEFORE_OFFLINE;
}

/**
 * The lifecycle event (result-codes edc-lifecycle) a message from the bridge means for the record it names, or
 * null when it means nothing to the lifecycle (an `accepted` or `duplicate` ack, a heartbeat, a command).
 * CommandCancel traffic maps onto the `cancel_*` events of the command being cancelled. The GetLastTransaction of
 * a recovery is read with matchLastTransaction instead.
 */
export function bridgeMessageToEdcEvent(message: BridgeMessage, at: number): EdcEvent | null {
  if (message.type === 'event') {
    // an event code this version does not know is recorded by the caller, but moves nothing
    if (!isKiccEventCode(message.body.code)) return null;
    return { type: 'device_event', code: message.body.code, at };
  }
  if (message.type === 'ack') {
    const { status } = message.body;
    if (!isBridgeAckStatus(status)) return null;
    if (BRIDGE_ACK_STATUSES[status].started || status === 'duplicate') return null;
    return message.commandName === 'CommandCancel'
      ? { type: 'cancel_refused', code: status, at }
      : { type: 'bridge_refused', code: status, at };
  }
  if (message.type !== 'result') return null;
  const { callback, responseData, failure } = message.body;
  // a callback this version does not know settles nothing: the command is recovered as if its result were lost
  if (!isBridgeResultCallback(callback)) return null;
  if (message.commandName === 'CommandCancel') {
    return callback === 'onSuccess'
      ? { type: 'cancel_confirmed', at }
      : { type: 'cancel_refused', code: failure?.code ?? '', at };
  }
  if (callback === 'onSuccess') {
    // a GetLastTransaction answered: its result.resultCode is the last transaction's, not the query's own
    if (message.commandName === 'GetLastTransaction') {
      return { type: 'onSuccess', resultCode: KICC_SUCCESS_RESULT_CODE, at };
    }
    return { type: 'onSuccess', resultCode: resultCodeOf(responseData), at };
  }
  return { type: callback, code: failure?.code ?? '', at };
}

/** `responseData.result.resultCode`, or '' (an answer that settles nothing) when the device left it out. */
function resultCodeOf(responseData: Record<string, unknown> | undefined): string {
  const result = responseData?.result;
  if (result === null || typeof result !== 'object') return '';
  const code = (result as Record<string, unknown>).resultCode;
  return typeof code === 'string' ? code : '';
}
