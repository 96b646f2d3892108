import type { BridgeAckStatus } from '@tillbus/protocols-kicc';
import type { SendResult } from '../vendor/bridge-link';
import type { DevicePresence } from '../vendor/presence';
import { EdcError } from '@tillbus/contracts';

/** A bridge's refusal of a command, or nobody listening for its device: nothing was started. */
export interface Refusal {
  status: BridgeAckStatus | 'no_responders';
  runningRequestId?: string;
  detail?: string;
}

/** What a refused dispatch means for the POS: nothing was started on the device. */
const REFUSALS: Partial<
  Record<
    BridgeAckStatus | 'no_responders',
    (deviceId: string, run?: string, detail?: string) => EdcError
  >
> = {
  busy: (deviceId, running) =>
    new EdcError(
      'DEVICE_BUSY',
      `device ${deviceId} is running a command tillbus did not send; nothing was started`,
      {
        deviceId,
        source: 'bridge',
        ...(running ? { runningRequestId: running } : {}),
      },
    ),
  not_ready: (deviceId, _run, detail) =>
    new EdcError(
      'DEVICE_NOT_READY',
      `the SDK is not initialised for device ${deviceId}; nothing was started`,
      {
        deviceId,
        ...(detail ? { init: detail } : {}),
      },
    ),
  unknown_device: (deviceId) =>
    new EdcError(
      'DEVICE_UNKNOWN',
      `the bridge does not drive device ${deviceId}; nothing was started`,
      { deviceId },
    ),
  expired: (deviceId) =>
    new EdcError(
      'BRIDGE_REFUSED',
      `the bridge of ${deviceId} received the command after its notAfter; nothing was started`,
      {
        deviceId,
        status: 'expired',
      },
    ),
  invalid: (deviceId, _run, detail) =>
    new EdcError(
      'BRIDGE_REFUSED',
      `the bridge of ${deviceId} could not read the command; nothing was started`,
      {
        deviceId,
        status: 'invalid',
        ...(detail ? { detail } : {}),
      },
    ),
  no_responders: (deviceId) =>
    new EdcError(
      'BRIDGE_OFFLINE',
      `no bridge is listening for device ${deviceId}; nothing was started`,
      { deviceId },
    ),
};

/** The error a POS gets for a refused dispatch. */
export function refusalError(deviceId: string, refusal: Refusal): EdcError {
  return REFUSALS[refusal.status]!(deviceId, refusal.runningRequestId, refusal.detail);
}

/** The refusal in a send result; null when the command may have started (acked, or no ack: maybe). */
export function refusalOf(sent: SendResult): Refusal | null {
  if (sent.kind === 'no_responders') return { status: 'no_responders' };
  if (sent.kind !== 'ack' || sent.status === 'accepted' || sent.status === 'duplicate') return null;
  return { status: sent.status, runningRequestId: sent.runningRequestId, detail: sent.detail };
}

/** The presence of the device's bridge, as a refusal when a command cannot start there now. */
export function presenceRefusal(deviceId: string, presence: DevicePresence): EdcError | null {
  if (presence.state === 'offline') {
    return new EdcError(
      'BRIDGE_OFFLINE',
      presence.bridgeId
        ? `bridge ${presence.bridgeId} of device ${deviceId} has sent no heartbeat for 3 intervals; nothing was started`
        : `no bridge has reported device ${deviceId}; nothing was started`,
      { deviceId, bridgeId: presence.bridgeId, lastHeartbeatAt: presence.lastHeartbeatAt },
    );
  }
  if (presence.state === 'online' && presence.init !== null && presence.init !== 'INIT_SUCCESS') {
    return new EdcError(
      'DEVICE_NOT_READY',
      `the SDK for device ${deviceId} reports ${presence.init}; nothing was started`,
      {
        deviceId,
        bridgeId: presence.bridgeId,
        init: presence.init,
      },
    );
  }
  return null;
}
