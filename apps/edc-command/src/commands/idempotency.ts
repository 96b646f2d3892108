import { type EdcCommandView, EdcError } from '@tillbus/contracts';
import { viewOf, type StoredRecord } from '../record/model';

/**
 * One payment per requestId across every device: the same requestId and params on the same device answer the
 * command; other params, or another device, are a conflicting reuse.
 */
export function idempotent(existing: StoredRecord, hash: string, deviceId: string): EdcCommandView {
  if (existing.deviceId !== deviceId) {
    throw new EdcError(
      'REPEAT_REQ_REJECT',
      `requestId ${existing.requestId} is already a command on device ${existing.deviceId}; a requestId names one payment on one device; nothing was started`,
      {
        deviceId: existing.deviceId,
        requestId: existing.requestId,
        submittedDeviceId: deviceId,
      },
    );
  }
  if (existing.kind === 'alias' || existing.paramsHash !== hash) {
    throw new EdcError(
      'REPEAT_REQ_REJECT',
      `requestId ${existing.requestId} was already used on device ${existing.deviceId} with other params; nothing was started`,
      { deviceId: existing.deviceId, requestId: existing.requestId },
    );
  }
  return viewOf(existing);
}
