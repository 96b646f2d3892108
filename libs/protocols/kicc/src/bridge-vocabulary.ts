export const BRIDGE_PROTOCOL_VERSION = 1;

export const BRIDGE_MESSAGE_TYPES = {
  command: { from: 'edc-command', subject: 'command' },
  ack: { from: 'bridge', subject: 'reply to a command' },
  event: { from: 'bridge', subject: 'events' },
  result: { from: 'bridge', subject: 'events' },
  heartbeat: { from: 'bridge', subject: 'heartbeat' },
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
  return (ACK_STATUS_LIST as readonly unknown[]).includes(value);
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

/** Device and bridge ids become NATS subject tokens. */
export const BRIDGE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
