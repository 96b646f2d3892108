import { isTableKey } from '@tillbus/result-codes';
/** The version the v1 message types are written with: they are unchanged in v2, so any bridge reads them. */
export const BRIDGE_PROTOCOL_VERSION = 1;
/** The version that added the journal (docs/bridge-protocol.md §12); only a bridge that lists it is asked. */
export const BRIDGE_JOURNAL_VERSION = 2;
/** Every version this codec reads and writes. */
export const BRIDGE_PROTOCOL_VERSIONS = [BRIDGE_PROTOCOL_VERSION, BRIDGE_JOURNAL_VERSION] as const;
export type BridgeProtocolVersion = (typeof BRIDGE_PROTOCOL_VERSIONS)[number];

/** Each message type, who sends it, where, and the version that introduced it. */
export const BRIDGE_MESSAGE_TYPES = {
  command: { from: 'edc-command', subject: 'command', since: 1 },
  ack: { from: 'bridge', subject: 'reply to a command', since: 1 },
  event: { from: 'bridge', subject: 'events', since: 1 },
  result: { from: 'bridge', subject: 'events', since: 1 },
  heartbeat: { from: 'bridge', subject: 'heartbeat', since: 1 },
  journal_query: { from: 'edc-command', subject: 'journal', since: 2 },
  journal: { from: 'bridge', subject: 'reply to a journal_query', since: 2 },
} as const;

export type BridgeMessageType = keyof typeof BRIDGE_MESSAGE_TYPES;
/** The message types, for checks and messages. */
export const MESSAGE_TYPE_LIST = Object.keys(BRIDGE_MESSAGE_TYPES) as BridgeMessageType[];

/** What the bridge answers to a command, before the SDK is called (or instead of calling it). */
export const BRIDGE_ACK_STATUSES = {
  accepted: { started: true, meaning: 'sendCommand was called' },
  duplicate: {
    started: false,
    meaning:
      'this requestId was seen before; nothing new was started, its events and result are replayed',
  },
  busy: {
    started: false,
    meaning: 'another command is running on the device; nothing was started',
  },
  expired: { started: false, meaning: 'received after body.notAfter; nothing was started' },
  not_ready: {
    started: false,
    meaning: 'the SDK is not initialised for the device; nothing was started',
  },
  unknown_device: {
    started: false,
    meaning: 'the bridge does not drive this device; nothing was started',
  },
  not_running: {
    started: false,
    meaning: 'CommandCancel for a requestId that is not the running command; nothing was sent',
  },
  invalid: { started: false, meaning: 'the command did not parse; nothing was started' },
} as const;

export type BridgeAckStatus = keyof typeof BRIDGE_ACK_STATUSES;
export const ACK_STATUS_LIST = Object.keys(BRIDGE_ACK_STATUSES) as BridgeAckStatus[];

export function isBridgeAckStatus(value: unknown): value is BridgeAckStatus {
  return isTableKey(BRIDGE_ACK_STATUSES, value);
}

export const BRIDGE_RESULT_CALLBACKS = [
  'onSuccess',
  'onCommandFailed',
  'onBusinessFailed',
] as const;
export type BridgeResultCallback = (typeof BRIDGE_RESULT_CALLBACKS)[number];

export function isBridgeResultCallback(value: unknown): value is BridgeResultCallback {
  return (BRIDGE_RESULT_CALLBACKS as readonly unknown[]).includes(value);
}

/**
 * What the bridge's journal (its dedupe store, §7) knows of a requestId, in a v2 `journal` answer. Only
 * `not_received` and `finished` settle anything; the others leave edc-command to GetLastTransaction.
 */
export const BRIDGE_JOURNAL_STATES = {
  not_received: {
    settles: true,
    meaning:
      'the journal never held this requestId; asked with close, the bridge has now closed it, so it can never start',
  },
  received: {
    settles: false,
    meaning:
      'recorded, and the bridge cannot tell whether sendCommand was called (a restart between)',
  },
  executing: { settles: false, meaning: 'sendCommand was called; no callback yet' },
  finished: { settles: true, meaning: 'the SDK called back; body.result is the stored result' },
} as const;

export type BridgeJournalState = keyof typeof BRIDGE_JOURNAL_STATES;
export const JOURNAL_STATE_LIST = Object.keys(BRIDGE_JOURNAL_STATES) as BridgeJournalState[];

export function isBridgeJournalState(value: unknown): value is BridgeJournalState {
  return isTableKey(BRIDGE_JOURNAL_STATES, value);
}

/** Device and bridge ids become NATS subject tokens. */
export const BRIDGE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
