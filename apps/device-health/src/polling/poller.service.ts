import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { KV } from '@nats-io/kv';
import {
  after,
  type Cancel,
  CLOCK,
  type Clock,
  InFlightTracker,
  writeIfRevision,
} from '@tillbus/messaging';
import { JetStreamSetup } from '@tillbus/runtime';
import {
  BackgroundTaskLog,
  JsonLogger,
  newCorrelationId,
  runWithCorrelation,
} from '@tillbus/observability';
import {
  servesVendor,
  type DeviceHealthConfig,
  BUCKETS,
  DEVICE_HEALTH_CONFIG,
  REPLICA_ID,
} from '../config';
import { DiagnosisService } from '../diagnosis/diagnosis.service';
import { DeviceHealthMetrics } from '../metrics';
import { RegistryService } from '../registry/registry.service';
import type { TerminalRecord } from '../registry/terminal.dto';
import { claimKey, SlotPlan, type Slot } from './schedule';

/**
 * Fleet polling shared by every replica, with no duplicate and no gap:
 * - every terminal has a slot in each interval (a stable hash of its id), so diagnoses are spread evenly;
 * - every replica walks the registry's terminals of the vendors it serves (DEVICE_HEALTH_VENDORS: all of them by
 *   default; with per-vendor deployments, each deployment walks its own vendor's terminals, all of them, and no
 *   other's) and, when a slot comes due, tries to create the KV key
 *   `<interval ms>.<terminal>.<interval index>`; creation is compare-and-set, so exactly one replica wins and
 *   diagnoses, the others move on;
 * - a slot is given up (before claiming) once it is half an interval late, so a claim can never be attempted
 *   after the bucket's TTL (two intervals) has forgotten the winner;
 * - a dead replica held claims only for slots already due, so every later slot is claimed by a survivor:
 *   takeover is immediate, bounded by one interval in the worst case (the slot in flight when it died).
 * docs/services/device-health.md has the argument in full.
 */
@Injectable()
export class PollerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private kv!: KV;
  private plan!: SlotPlan;
  private planDirty = true;
  private lastScan = 0;
  private cancelTick?: Cancel;
  private stopped = false;
  private readonly queue: Slot[] = [];
  private head = 0;
  private active = 0;
  private readonly inFlight = new InFlightTracker();
  private readonly maxQueue: number;
  // Hot under overload: label children resolved once, not hashed per skipped slot.
  private readonly skippedLate;
  private readonly skippedFull;
  private readonly skippedUnregistered;
  private readonly failures: BackgroundTaskLog;

  constructor(
    private readonly setup: JetStreamSetup,
    private readonly registry: RegistryService,
    private readonly diagnosis: DiagnosisService,
    private readonly metrics: DeviceHealthMetrics,
    @Inject(DEVICE_HEALTH_CONFIG) private readonly config: DeviceHealthConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(REPLICA_ID) private readonly replica: string,
    private readonly logger: JsonLogger,
  ) {
    this.failures = new BackgroundTaskLog(logger);
    this.maxQueue = Math.max(1000, config.POLL_CONCURRENCY * 200);
    this.skippedLate = metrics.skipped.labels('late');
    this.skippedFull = metrics.skipped.labels('queue_full');
    this.skippedUnregistered = metrics.skipped.labels('unregistered');
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.POLL_ENABLED) return;
    this.kv = this.setup.bucket(BUCKETS.claims);
    this.registry.onChange(() => (this.planDirty = true));
    await this.registry.loaded();
    this.lastScan = this.clock.now();
    this.logger.event('info', 'polling the fleet', {
      replica: this.replica,
      vendors: this.config.DEVICE_HEALTH_VENDORS,
      intervalMs: this.config.POLL_INTERVAL_MS,
      concurrency: this.config.POLL_CONCURRENCY,
      terminals: this.registry.size,
    });
    this.schedule();
  }

  /** Stop taking slots; diagnoses already claimed finish (bounded by the shutdown grace). */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.cancelTick?.();
    this.queue.length = 0;
    this.head = 0;
    await this.inFlight.settle(this.config.SHUTDOWN_GRACE_MS);
  }

  get queueDepth(): number {
    return this.queue.length - this.head;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.cancelTick = after(this.clock, this.config.POLL_TICK_MS, () => this.tick());
  }

  private tick(): void {
    if (this.stopped) return;
    try {
      if (this.planDirty) {
        this.planDirty = false;
        // Only this deployment's vendors: another deployment plans (and claims) the others.
        this.plan = new SlotPlan(
          this.registry
            .all()
            .filter((t) => servesVendor(this.config, t.vendor))
            .map((t) => t.terminalId),
          this.config.POLL_INTERVAL_MS,
        );
      }
      const now = this.clock.now();
      for (const slot of this.plan.due(this.lastScan, now)) {
        if (this.queueDepth >= this.maxQueue) {
          this.skippedFull.inc();
          continue;
        }
        this.queue.push(slot);
      }
      this.lastScan = now;
      this.pump();
      this.failures.succeeded('poll-tick');
    } catch (error) {
      this.failures.failed('poll-tick', error);
    }
    this.schedule();
  }

  private pump(): void {
    const now = this.clock.now();
    while (
      !this.stopped &&
      this.active < this.config.POLL_CONCURRENCY &&
      this.head < this.queue.length
    ) {
      const slot = this.queue[this.head++];
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      // Given up before claiming, so another replica can still take it; checked here, before any async work.
      if (now - slot.at > this.config.POLL_INTERVAL_MS / 2) {
        this.skippedLate.inc();
        continue;
      }
      const terminal = this.registry.cached(slot.terminalId);
      // Removed, or moved to a vendor this deployment does not serve, since the plan was made.
      if (!terminal || !servesVendor(this.config, terminal.vendor)) {
        this.skippedUnregistered.inc();
        continue;
      }
      this.active += 1;
      const end = this.inFlight.begin();
      void runWithCorrelation(newCorrelationId(), () => this.work(slot, terminal)).finally(() => {
        this.active -= 1;
        end();
        this.pump();
      });
    }
    this.metrics.queueDepth.set(this.queueDepth);
  }

  private async work(slot: Slot, terminal: TerminalRecord): Promise<void> {
    let claimed: number | undefined;
    try {
      claimed = await writeIfRevision(
        this.kv,
        claimKey(this.config.POLL_INTERVAL_MS, slot.terminalId, slot.interval),
        { replica: this.replica, at: this.clock.now() },
        0,
      );
    } catch (error) {
      this.metrics.claims.inc({ result: 'error' });
      this.logger.event('warn', 'could not claim a poll slot', {
        terminalId: slot.terminalId,
        error,
      });
      return;
    }
    if (claimed === undefined) {
      this.metrics.claims.inc({ result: 'lost' });
      return;
    }
    this.metrics.claims.inc({ result: 'won' });
    try {
      await this.diagnosis.diagnose(terminal, 'poll');
    } catch (error) {
      this.logger.event('error', 'could not record a diagnosis', {
        terminalId: slot.terminalId,
        error,
      });
    }
  }
}
