import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { KV } from '@nats-io/kv';
import {
  after,
  type Cancel,
  CLOCK,
  type Clock,
  deleteIfRevision,
  sleep,
  writeIfRevision,
} from '@tillbus/messaging';
import { JetStreamSetup } from '@tillbus/runtime';
import { JsonLogger } from '@tillbus/observability';
import {
  AdyenProtocolError,
  createServiceIdGenerator,
  SERVICE_ID_SLOTS,
  serviceIdHandoverNotBefore,
  type ServiceIdGenerator,
} from '@tillbus/protocols-adyen';
import {
  servesVendor,
  type DeviceHealthConfig,
  BUCKETS,
  DEVICE_HEALTH_CONFIG,
  REPLICA_ID,
} from '../config';

export class ServiceIdUnavailableError extends Error {
  override readonly name = 'ServiceIdUnavailableError';
}

interface Lease {
  slot: number;
  key: string;
  revision: number;
  generator: ServiceIdGenerator;
}

/**
 * Adyen ServiceIDs, unique per POIID for 48 h across replicas and restarts (libs/protocols/adyen README,
 * "ServiceID"): this replica holds one of 1,296 slots through a KV key whose TTL is the lease, created with
 * compare-and-set and renewed every third of the lease. The generator stops issuing when its view of the lease
 * ends, and a new holder waits twice the maximum clock skew before issuing.
 */
@Injectable()
export class ServiceIdAllocator implements OnApplicationBootstrap, OnApplicationShutdown {
  private kv!: KV;
  private lease?: Lease;
  private acquiring?: Promise<Lease>;
  private cancelRenewal?: Cancel;
  private stopped = false;

  constructor(
    private readonly setup: JetStreamSetup,
    @Inject(DEVICE_HEALTH_CONFIG) private readonly config: DeviceHealthConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(REPLICA_ID) private readonly replica: string,
    private readonly logger: JsonLogger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.kv = this.setup.bucket(BUCKETS.serviceIdSlots);
    // A deployment without Adyen terminals holds no slot (one is still taken on first use, should one come).
    if (!servesVendor(this.config, 'adyen')) return;
    try {
      await this.ensureLease();
    } catch (error) {
      // Not fatal: Antom terminals need no ServiceID, and next() tries again.
      this.logger.event('warn', 'no Adyen ServiceID slot yet', { error });
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.cancelRenewal?.();
    const lease = this.lease;
    this.lease = undefined;
    if (lease) {
      // Only our own revision is deleted: a slot someone else took after our lease ran out stays theirs.
      await deleteIfRevision(this.kv, lease.key, lease.revision).catch(() => undefined);
    }
  }

  /** The slot this replica holds, if any. */
  get slot(): number | undefined {
    return this.lease?.slot;
  }

  /** A fresh ServiceID; waits out a handover (at most twice the clock skew), re-acquires a lost slot. */
  async next(): Promise<string> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const lease = await this.ensureLease();
      try {
        return lease.generator.next();
      } catch (error) {
        if (!(error instanceof AdyenProtocolError)) throw error;
        if (error.code === 'SERVICE_ID_LEASE_EXPIRED') {
          if (this.lease === lease) this.lease = undefined;
          continue;
        }
        const retryAfterMs = Number(
          (error.details as { retryAfterMs?: number } | undefined)?.retryAfterMs ?? 10,
        );
        await sleep(
          this.clock,
          Math.min(retryAfterMs, 2 * this.config.ADYEN_MAX_CLOCK_SKEW_MS + 20),
        );
      }
    }
    throw new ServiceIdUnavailableError(
      'no Adyen ServiceID could be issued (slot lease lost repeatedly)',
    );
  }

  private ensureLease(): Promise<Lease> {
    if (this.lease) return Promise.resolve(this.lease);
    if (this.stopped) return Promise.reject(new ServiceIdUnavailableError('shutting down'));
    this.acquiring ??= this.acquire().finally(() => (this.acquiring = undefined));
    return this.acquiring;
  }

  private async acquire(): Promise<Lease> {
    const start = Math.floor(Math.random() * SERVICE_ID_SLOTS);
    for (let i = 0; i < SERVICE_ID_SLOTS; i++) {
      const slot = (start + i) % SERVICE_ID_SLOTS;
      const key = `slot-${slot}`;
      const sentAt = this.clock.now();
      const revision = await writeIfRevision(
        this.kv,
        key,
        { replica: this.replica, since: sentAt },
        0,
      );
      if (revision === undefined) continue;
      // Read the clock after the write succeeded: the previous holder's ticks are all behind notBefore.
      const notBeforeMs = serviceIdHandoverNotBefore(
        this.clock.now(),
        this.config.ADYEN_MAX_CLOCK_SKEW_MS,
      );
      const generator = createServiceIdGenerator({
        slot,
        notBeforeMs,
        leaseExpiresAtMs: sentAt + this.config.ADYEN_SERVICE_ID_LEASE_MS,
        now: () => this.clock.now(),
      });
      const lease = { slot, key, revision, generator };
      this.lease = lease;
      this.scheduleRenewal(lease);
      this.logger.event('info', 'holding an Adyen ServiceID slot', { slot });
      return lease;
    }
    throw new ServiceIdUnavailableError(`all ${SERVICE_ID_SLOTS} ServiceID slots are held`);
  }

  private scheduleRenewal(lease: Lease): void {
    this.cancelRenewal?.();
    this.cancelRenewal = after(
      this.clock,
      Math.floor(this.config.ADYEN_SERVICE_ID_LEASE_MS / 3),
      () => void this.renew(lease),
    );
  }

  private async renew(lease: Lease): Promise<void> {
    if (this.stopped || this.lease !== lease) return;
    const sentAt = this.clock.now();
    try {
      const renewed = await writeIfRevision(
        this.kv,
        lease.key,
        { replica: this.replica, since: sentAt },
        lease.revision,
      );
      if (renewed === undefined) {
        // Someone took the slot after our lease ran out: stop using it and take another on the next request.
        this.logger.event('warn', 'lost the Adyen ServiceID slot; taking another', {
          slot: lease.slot,
        });
        if (this.lease === lease) this.lease = undefined;
        return;
      }
      lease.revision = renewed;
      lease.generator.renewLease(sentAt + this.config.ADYEN_SERVICE_ID_LEASE_MS);
    } catch (error) {
      // NATS unreachable: keep trying; the generator itself stops issuing when the lease runs out.
      this.logger.event('warn', 'could not renew the Adyen ServiceID slot', {
        slot: lease.slot,
        error,
      });
    }
    if (this.lease === lease) this.scheduleRenewal(lease);
  }
}
