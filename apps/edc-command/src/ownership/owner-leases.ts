import { Inject, Injectable } from '@nestjs/common';
import { KvMirror } from '@tillbus/messaging';
import { JetStreamSetup } from '@tillbus/runtime';
import { JsonLogger } from '@tillbus/observability';
import { EDC_CONFIG, EdcCommandConfig } from '../config';
import { BUCKETS } from '../store/keys';
import type { Bucket } from '../store/stores';

/**
 * Each replica's lease on the commands it owns: a key it renews, watched by every replica. An owner whose lease
 * lapsed is dead, and its commands are taken over.
 */
@Injectable()
export class OwnerLeases {
  private readonly bucket: Bucket;
  private owners?: KvMirror<number>;
  /** When this replica last saw each owner renew; 0 once its lease key went away (a lease given up is lapsed). */
  private readonly seenAt = new Map<string, number>();
  private readonly lapsed = new Set<string>();
  private liveAtDisconnect?: string[];

  constructor(
    setup: JetStreamSetup,
    @Inject(EDC_CONFIG) private readonly config: EdcCommandConfig,
    private readonly logger: JsonLogger,
  ) {
    this.bucket = () => setup.bucket(BUCKETS.owners);
  }

  get replicaId(): string {
    return this.config.REPLICA_ID;
  }

  async start(): Promise<void> {
    this.owners ??= new KvMirror(this.bucket(), {
      name: 'owner leases',
      decode: () => Date.now(),
      logger: this.logger,
      onChange: (owner, seenAt) => this.seenAt.set(owner, seenAt ?? 0),
    });
    this.owners.start();
    await this.owners.ready;
  }

  stop(): void {
    this.owners?.stop();
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
    const seen = this.seenAt.get(owner);
    return seen !== undefined && Date.now() - seen <= this.config.EDC_OWNER_LEASE_MS;
  }

  /** This replica lost NATS: the owners live now cannot be heard renewing until it is back. */
  disconnected(): void {
    this.liveAtDisconnect ??= [...this.seenAt.keys()].filter((owner) => this.isLive(owner));
  }

  /** Back on NATS: the owners live when it went get a whole lease from now (their renewals could not arrive). */
  reconnected(): void {
    const now = Date.now();
    for (const owner of this.liveAtDisconnect ?? [])
      if ((this.seenAt.get(owner) ?? 0) > 0)
        this.seenAt.set(owner, Math.max(this.seenAt.get(owner)!, now));
    this.liveAtDisconnect = undefined;
  }

  /** Whether an owner's lease lapsed since the last look. */
  lapsedSinceLastLook(): boolean {
    let lapsed = false;
    for (const owner of this.seenAt.keys()) {
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
