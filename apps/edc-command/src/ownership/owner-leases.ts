import { Inject, Injectable } from '@nestjs/common';
import { JetStreamSetup } from '@tillbus/runtime';
import { EDC_CONFIG, EdcCommandConfig } from '../config';
import { BUCKETS } from '../keys';
import type { Bucket } from '../store/stores';
import { WatchedKeys } from '../store/watched-keys';

/**
 * Each replica's lease on the commands it owns: a key it renews, watched by every replica. An owner whose lease
 * lapsed is dead, and its commands are taken over.
 */
@Injectable()
export class OwnerLeases {
  private readonly bucket: Bucket;
  private readonly owners: WatchedKeys;
  private readonly lapsed = new Set<string>();

  constructor(
    setup: JetStreamSetup,
    @Inject(EDC_CONFIG) private readonly config: EdcCommandConfig,
  ) {
    this.bucket = () => setup.bucket(BUCKETS.owners);
    this.owners = new WatchedKeys(this.bucket, undefined, true);
  }

  get replicaId(): string {
    return this.config.REPLICA_ID;
  }

  start(): Promise<void> {
    return this.owners.start();
  }

  stop(): void {
    this.owners.stop();
  }

  async renew(): Promise<void> {
    await this.bucket().put(this.replicaId, JSON.stringify({ at: Date.now() }));
  }

  /** Hands this replica's commands over at once instead of after the lease. */
  async giveUp(): Promise<void> {
    await this.bucket()
      .delete(this.replicaId)
      .catch(() => undefined);
  }

  isLive(owner: string): boolean {
    if (owner === this.replicaId) return true;
    const seen = this.owners.seenAt.get(owner);
    return seen !== undefined && Date.now() - seen <= this.config.EDC_OWNER_LEASE_MS;
  }

  /** Whether an owner's lease lapsed since the last look. */
  lapsedSinceLastLook(): boolean {
    let lapsed = false;
    for (const owner of this.owners.seenAt.keys()) {
      if (this.isLive(owner)) {
        this.lapsed.delete(owner);
      } else if (!this.lapsed.has(owner)) {
        this.lapsed.add(owner);
        lapsed = true;
      }
    }
    return lapsed;
  }
}
