import { EasyCardSessionError } from '@tillbus/contracts';
import type { JsonLogger } from '@tillbus/observability';
import { easyCardSessionUsable } from '@tillbus/result-codes';
import type { SessionMetrics } from '../metrics';
import { KeyBoxError } from './key-box';
import type { SessionMaintenanceService } from './session-maintenance.service';
import type { SessionRuntime } from './session-runtime';
import type { SessionStore } from './session-store';

export interface KeyRelease {
  deviceId: string;
  mchId: string;
  /** NewAESKey as intella issued it. Sensitive. */
  newAesKey: string;
  newDeviceId: string | null;
  deviceID: string | null;
  dongleDeviceId: string | null;
  signedAt: string;
  expiresAt: string;
}

/** Hands a reader's key to its POS; an unreadable key is replaced at once. */
export class KeyReleaseService {
  constructor(
    private readonly runtime: SessionRuntime,
    private readonly store: SessionStore,
    private readonly maintenance: SessionMaintenanceService,
    private readonly metrics: SessionMetrics,
    private readonly logger: JsonLogger,
  ) {}

  /** The key for a reader with a valid sign-on. The only place NewAESKey leaves its sealed form. */
  async releaseKey(deviceId: string): Promise<KeyRelease> {
    const record = await this.store.get(deviceId);
    if (!record) {
      this.metrics.keyReleases.inc({ result: 'not_found' });
      throw new EasyCardSessionError('NOT_FOUND', deviceId);
    }
    const state = record.state;
    const now = this.runtime.clock.now();
    if (
      !easyCardSessionUsable(state, now) ||
      record.key === null ||
      !('expiresAt' in state) ||
      state.expiresAt === null
    ) {
      this.metrics.keyReleases.inc({ result: 'not_usable' });
      throw new EasyCardSessionError('SESSION_NOT_USABLE', `state ${state.kind}`, {
        state: state.kind,
      });
    }
    let newAesKey: string;
    try {
      newAesKey = this.runtime.keyBox.open(record.key, { deviceId, mchId: record.mchId });
    } catch (error) {
      this.metrics.keyReleases.inc({ result: 'unavailable' });
      this.logger.event('error', 'cannot open a stored reader key', {
        deviceId,
        error: error instanceof KeyBoxError ? error : 'unexpected error',
      });
      // the POS is waiting for a key: do not leave the replacement to the next tick
      void this.maintenance.replaceKey(deviceId).catch((replaceError: unknown) =>
        this.logger.event('warn', 'replacing an unreadable key failed', {
          deviceId,
          error: replaceError,
        }),
      );
      throw new EasyCardSessionError('KEY_UNAVAILABLE');
    }
    this.metrics.keyReleases.inc({ result: 'released' });
    this.logger.event('info', 'reader key released', { deviceId });
    return {
      deviceId,
      mchId: record.mchId,
      newAesKey,
      newDeviceId: record.reader.newDeviceId ?? null,
      deviceID: record.reader.deviceID ?? null,
      dongleDeviceId: record.reader.dongleDeviceId ?? null,
      signedAt: new Date(record.key.signedAt).toISOString(),
      expiresAt: new Date(state.expiresAt).toISOString(),
    };
  }
}
