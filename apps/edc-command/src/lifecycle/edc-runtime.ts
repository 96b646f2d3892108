import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { NatsConnectionManager, runStartupStep, type StartupStepContext } from '@tillbus/messaging';
import { BackgroundTaskLog, JsonLogger, OpsServer } from '@tillbus/observability';
import { BridgePresence } from '../vendor/presence';
import { BridgeInbox } from '../commands/bridge-inbox';
import { EDC_CONFIG, EdcCommandConfig } from '../config';
import { CommandTakeover } from '../ownership/command-takeover';
import { OwnerLeases } from '../ownership/owner-leases';
import { EventPublisher } from '../commands/event-publisher';
import { CancelDeadlines } from '../recovery/cancel-deadlines';
import { CommandTimers } from '../recovery/command-timers';
import { ConnectionHold } from './connection-hold';
import { RunState } from './run-state';
import { InDoubtIndex } from '../store/in-doubt-index';

const PRESENCE_TICK_MS = 500;

/**
 * Starts and stops the EDC command path in order: the watches and this replica's lease, bridge presence, the
 * commands to resume or take over, then the bridge consumer and the background rounds. Stops it the other way,
 * handing this replica's commands over at once. Each JetStream write or read of that boot is a startup step: against a
 * cluster whose streams are still electing leaders (a put answers "no responders", a read times out) it waits and
 * /readyz names it; the replica never exits for that.
 */
@Injectable()
export class EdcRuntime implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly intervals: NodeJS.Timeout[] = [];

  constructor(
    @Inject(EDC_CONFIG) private readonly config: EdcCommandConfig,
    private readonly connection: NatsConnectionManager,
    private readonly run: RunState,
    private readonly leases: OwnerLeases,
    private readonly inDoubt: InDoubtIndex,
    private readonly presence: BridgePresence,
    private readonly takeover: CommandTakeover,
    private readonly inbox: BridgeInbox,
    private readonly timers: CommandTimers,
    private readonly cancelDeadlines: CancelDeadlines,
    private readonly hold: ConnectionHold,
    private readonly publisher: EventPublisher,
    private readonly ops: OpsServer,
    private readonly logger: JsonLogger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.ops.addReadinessCheck({
      name: 'edc-engine',
      check: () =>
        this.run.ready
          ? { ok: true }
          : { ok: false, detail: 'resuming commands and starting the bridge consumer' },
    });
    const steps: StartupStepContext = { logger: this.logger, ops: this.ops };
    await this.leases.start();
    await this.inDoubt.start();
    await runStartupStep('renew', 'owner lease', () => this.leases.renew(), steps);
    this.presence.start(this.connection.connection);
    this.presence.onOnline((_bridgeId, devices) => this.timers.bridgeBack(devices));
    this.hold.watch(this.connection.connection);
    // a scan reads every device: it may take longer than one request, and the next attempt would join it anyway
    await runStartupStep('resume', 'commands', () => this.takeover.scan('restart'), {
      ...steps,
      patienceMs: Infinity,
    });
    await this.inbox.start();
    this.every(
      'owner-lease-renewal',
      Math.max(250, Math.floor(this.config.EDC_OWNER_LEASE_MS / 3)),
      () => this.leases.renew(),
    );
    // no owner is judged dead on leases this replica could not hear renewed
    this.every('takeover-sweep', this.config.EDC_SWEEP_INTERVAL_MS, () =>
      this.hold.held ? undefined : this.takeover.sweep(),
    );
    if (this.config.EDC_FULL_SCAN_INTERVAL_MS > 0)
      this.every('takeover-full-scan', this.config.EDC_FULL_SCAN_INTERVAL_MS, () =>
        this.hold.held ? undefined : this.takeover.scan('periodic'),
      );
    this.every('presence-tick', PRESENCE_TICK_MS, () => {
      this.presence.reportOffline();
      return this.timers.presenceTick();
    });
    this.run.ready = true;
    this.logger.event('info', 'edc engine ready', {
      replicaId: this.config.REPLICA_ID,
      resumed: this.timers.ownedCount(),
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.run.stopping = true;
    this.run.ready = false;
    for (const interval of this.intervals.splice(0)) clearInterval(interval);
    await this.inbox.stop();
    this.timers.stopAll();
    this.cancelDeadlines.stopAll();
    this.presence.stop();
    this.leases.stop();
    this.inDoubt.stop();
    await this.publisher.settle(Math.min(5_000, this.config.SHUTDOWN_GRACE_MS));
    await this.leases.giveUp();
  }

  /** Runs `round` every `ms`; its failures are logged by name, rate-limited during an outage. */
  private every(task: string, ms: number, round: () => Promise<void> | void): void {
    const failures = new BackgroundTaskLog(this.logger);
    const interval = setInterval(() => {
      if (this.run.stopping) return;
      void failures.run(task, round);
    }, ms);
    interval.unref();
    this.intervals.push(interval);
  }
}
