import { Inject, Injectable } from '@nestjs/common';
import { JetStreamSetup } from '@tillbus/runtime';
import { EDC_CONFIG, EdcCommandConfig } from '../config';
import { BUCKETS, inDoubtKey } from '../keys';
import { EdcMetrics } from '../metrics';
import type { Bucket } from './stores';
import { WatchedKeys } from './watched-keys';

/** The commands in doubt, one key each, for operators: written when a command settles in doubt. */
@Injectable()
export class InDoubtIndex {
  private readonly bucket: Bucket;
  private readonly watched: WatchedKeys;

  constructor(
    setup: JetStreamSetup,
    @Inject(EDC_CONFIG) config: EdcCommandConfig,
    metrics: EdcMetrics,
  ) {
    this.bucket = () => setup.bucket(BUCKETS.inDoubt);
    this.watched = new WatchedKeys(this.bucket);
    metrics.countInDoubt = () => this.watched.countYoungerThan(config.EDC_RECORD_TTL_MS);
  }

  start(): Promise<void> {
    return this.watched.start();
  }

  stop(): void {
    this.watched.stop();
  }

  async mark(deviceId: string, requestId: string, at: number): Promise<void> {
    await this.bucket().put(inDoubtKey(deviceId, requestId), JSON.stringify({ at }));
  }

  async clear(deviceId: string, requestId: string): Promise<void> {
    await this.bucket()
      .delete(inDoubtKey(deviceId, requestId))
      .catch(() => undefined);
  }
}
