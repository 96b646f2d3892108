import { serviceError } from '../errors';

/**
 * The typed rejections of edc-command, besides the bus-wide PARAM_ILLEGAL, NOT_FOUND and UNAVAILABLE. Each code
 * has one meaning for a POS: whether anything happened on the device, and what to do next. Vendor codes are used
 * where the vendor already names the situation (REPEAT_REQ_REJECT, CommandInvalid, ORDER_STATUS_INVALID).
 */
export const EDC_COMMAND_ERRORS = {
  DEVICE_BUSY:
    'another command is in flight on the device; nothing was started. Retry after its outcome.',
  REPEAT_REQ_REJECT:
    'the requestId was already used with other params; nothing was started. Use a new requestId.',
  BRIDGE_OFFLINE: 'the bridge of the device is offline; nothing was started.',
  DEVICE_NOT_READY:
    'the SDK is not initialised for the device (see the bridge heartbeat); nothing was started.',
  DEVICE_UNKNOWN: 'the bridge does not drive this device; nothing was started.',
  BRIDGE_REFUSED: 'the bridge refused the command before calling the SDK; nothing was started.',
  CommandInvalid:
    'CommandCancel after the card was read: the vendor refuses it; the payment goes on.',
  NOT_RUNNING: 'CommandCancel: no command (or not the named one) is running on the device.',
  ORDER_STATUS_INVALID:
    'PurchaseCancel: the referenced Purchase did not succeed or has no acquirerMetaData.',
  NOT_IN_DOUBT:
    'settle: the command is not in doubt (still running, recovering, or already settled); nothing was changed.',
} as const;

export type EdcCommandErrorCode = keyof typeof EDC_COMMAND_ERRORS;

/** An edc-command rejection: a code of EDC_COMMAND_ERRORS and a message naming the device and command. */
export class EdcError extends serviceError('EdcError', EDC_COMMAND_ERRORS) {}
