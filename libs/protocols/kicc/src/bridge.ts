/**
 * The protocol between edc-command and the bridge app on the Android POS (docs/bridge-protocol.md). We own it;
 * the seed only defines what the SDK says, which the bridge forwards unchanged inside these envelopes.
 *
 * Its vocabulary, subjects, message schemas, codec and the reading of bridge traffic each have a file; this module
 * is their public face.
 */
export {
  BRIDGE_ACK_STATUSES,
  BRIDGE_ID_PATTERN,
  BRIDGE_JOURNAL_STATES,
  BRIDGE_JOURNAL_VERSION,
  BRIDGE_MESSAGE_TYPES,
  BRIDGE_PROTOCOL_VERSION,
  BRIDGE_PROTOCOL_VERSIONS,
  BRIDGE_RESULT_CALLBACKS,
  isBridgeAckStatus,
  isBridgeJournalState,
  type BridgeAckStatus,
  type BridgeJournalState,
  type BridgeProtocolVersion,
  type BridgeMessageType,
  type BridgeResultCallback,
} from './bridge-vocabulary';
export * from './bridge-subjects';
export {
  BridgeAck,
  BridgeAckBody,
  BridgeCommand,
  BridgeCommandBody,
  BridgeDeviceInit,
  BridgeDeviceStatus,
  BridgeEvent,
  BridgeEventBody,
  BridgeFailure,
  BridgeHeartbeat,
  BridgeHeartbeatBody,
  BridgeJournal,
  BridgeJournalBody,
  BridgeJournalQuery,
  BridgeJournalQueryBody,
  BridgeResult,
  BridgeResultBody,
  BridgeSdkVersions,
  HEARTBEAT_INTERVAL_MS,
  HEARTBEAT_MISSES_BEFORE_OFFLINE,
  type BridgeMessage,
} from './bridge-schemas';
export * from './bridge-codec';
export * from './bridge-traffic';
