import { Inject, Injectable } from '@nestjs/common';
import { KvMirror } from '@tillbus/messaging';
import { JetStreamSetup } from '@tillbus/runtime';
import { JsonLogger } from '@tillbus/observability';
import { EDC_CONFIG, EdcCommandConfig } from '../config';
import { BUCKETS, inDoubtKey } from './keys';
import { EdcMetrics } from '../metrics';
import type { Bucket } from './stores';

/** The commands in doubt, one key each, for operators: written when a command settles in doubt. */
@Injectable()
export class InDoubtIndex {
  private readonly bucket: Bucket;
  /** When the server stored each key (KV max age removes entries without telling a watch). */
  private createdAt?: KvMirror<number>;

  constructor(
    setup: JetStreamSetup,
    @Inject(EDC_CONFIG) config: EdcCommandConfig,
    metrics: EdcMetrics,
    private readonly logger: JsonLogger,
  ) {
    this.bucket = () => setup.bucket(BUCKETS.inDoubt);
    metrics.countInDoubt = () => this.countYoungerThan(config.EDC_RECORD_TTL_MS);
  }

  async start(): Promise<void> {
    this.createdAt ??= new KvMirror(this.bucket(), {
      name: 'in-doubt index',
      decode: (_value, entry) => entry.created.getTime(),
      logger: this.logger,
    });
    this.createdAt.start();
    await this.createdAt.ready;
  }

  stop(): void {
    this.createdAt?.stop();
  }

  async mark(deviceId: string, requestId: string, at: number): Promise<void> {
    await this.bucket().put(inDoubtKey(deviceId, requestId), JSON.stringify({ at }));
  }

  async clear(deviceId: string, requestId: string): Promise<void> {
    await this.bucket()
      .delete(inDoubtKey(deviceId, requestId))
      .catch(() => undefined);
  }

  /** Keys written less than `maxAgeMs` ago, by the server's clock. */
  private countYoungerThan(maxAgeMs: number, now = Date.now()): number {
    let count = 0;
    for (const { value: created } of this.createdAt?.values() ?? []) {
      if (now - created < maxAgeMs) count++;
    }
    return count;
  }
}
