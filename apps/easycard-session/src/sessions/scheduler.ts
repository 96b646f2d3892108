import type { Clock } from '@tillbus/messaging';
import { BackgroundTaskLog, type JsonLogger } from '@tillbus/observability';
import { maintain } from './session-maintenance';
import { settlementDue } from './session-settlement';
import { signOnDue } from './session-sign-on';
import type { ReaderRegistrationService } from './reader-registration.service';
import type { SessionEvents } from './session-events';
import type { SessionKeyMaterial } from './session-key-material';
import type { SessionMaintenanceService } from './session-maintenance.service';
import type { SessionPolicy } from './session-record';
import type { SessionStore } from './session-store';
import type { SettlementService } from './settlement.service';
import type { SignOnService } from './sign-on.service';

export interface SchedulerOptions {
  tickMs: number;
  maxConcurrent: number;
  merchants: string[];
  policy: SessionPolicy;
}

const SCHEDULER_TICK = 'session-scheduler-tick';

/**
 * Each replica looks at every session each tick and claims, by compare-and-set, the sign-ons and settlements that
 * are due, up to its concurrency. Replicas see the same records, so the work spreads over them and a dead
 * replica's leases are taken over by whoever looks next.
 */
export class Scheduler {
  /** Completed ticks (tests wait for ticks instead of sleeping). */
  ticks = 0;
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<void>;
  private stopping = false;
  private readonly busy = new Map<string, Promise<unknown>>();
  /** NATS or KV away: the next tick tries again; one line a minute is enough. */
  private readonly failures: BackgroundTaskLog;

  constructor(
    private readonly options: SchedulerOptions,
    private readonly clock: Clock,
    private readonly store: SessionStore,
    private readonly keys: SessionKeyMaterial,
    private readonly maintenance: SessionMaintenanceService,
    private readonly signOns: SignOnService,
    private readonly settlements: SettlementService,
    private readonly registration: ReaderRegistrationService,
    private readonly events: SessionEvents,
    private readonly logger: JsonLogger,
  ) {
    this.failures = new BackgroundTaskLog(logger, { level: 'warn' });
  }

  /** Discovery at boot, then ticks. */
  start(): void {
    for (const mchId of this.options.merchants)
      this.track(`discovery:${mchId}`, () => this.registration.discover(mchId, true));
    this.timer = setInterval(() => {
      this.ticking ??= this.tick().finally(() => {
        this.ticking = undefined;
      });
    }, this.options.tickMs);
  }

  /** Stops ticking and waits (bounded) for the attempts in flight, so none is left to a lease timeout. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([this.ticking, ...this.busy.values()]),
      new Promise((resolve) => {
        timer = setTimeout(resolve, graceMs);
      }),
    ]);
    clearTimeout(timer);
  }

  inFlight(): number {
    return this.busy.size;
  }

  /** One pass over every session. Public so tests can drive it. */
  async tick(): Promise<void> {
    try {
      this.store.maybeResync();
      for (const mchId of this.options.merchants) {
        const key = `discovery:${mchId}`;
        if (!this.busy.has(key) && (await this.registration.discoveryDue(mchId)))
          this.track(key, () => this.registration.discover(mchId));
      }
      const policy = this.options.policy;
      for (const cached of shuffled(this.store.cached())) {
        if (this.stopping) break;
        const deviceId = cached.deviceId;
        if (this.busy.has(deviceId)) continue;
        const now = this.clock.now();
        const realNow = Date.now();
        const fingerprint = this.keys.fingerprint(cached.mchId);
        let record = cached;
        if (maintain(record, now, realNow, policy, fingerprint) !== undefined) {
          record = (await this.maintenance.maintain(deviceId)) ?? record;
        }
        if (this.busy.size >= this.options.maxConcurrent) continue;
        if (this.maintenance.keyNeedsReplacing(record)) {
          this.track(deviceId, () => this.maintenance.replaceKey(deviceId));
        } else if (signOnDue(record, now, realNow, policy, fingerprint).due) {
          this.track(deviceId, () => this.signOns.signOn(deviceId, 'scheduled'));
        } else if (settlementDue(record, now, realNow, policy)) {
          this.track(deviceId, () => this.settlements.settle(deviceId));
        }
      }
      for (const record of this.events.orphans(this.store.cached(), Date.now())) {
        await this.events.flush(record);
      }
      this.failures.succeeded(SCHEDULER_TICK);
    } catch (error) {
      this.failures.failed(SCHEDULER_TICK, error);
    } finally {
      this.ticks++;
    }
  }

  private track(key: string, work: () => Promise<unknown>): void {
    const running = work()
      .catch((error: unknown) => {
        this.logger.event('warn', 'scheduled work failed', {
          work: key.split(':')[0],
          error,
        });
      })
      .finally(() => this.busy.delete(key));
    this.busy.set(key, running);
  }
}

function shuffled<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}
