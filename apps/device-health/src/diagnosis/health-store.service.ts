import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { KV } from '@nats-io/kv';
import {
  EVENT_SUBJECTS,
  type Readiness,
  type TerminalHealth,
  type TerminalHealthChanged,
} from '@tillbus/contracts';
import {
  CasConflictError,
  CLOCK,
  type Clock,
  compareAndSet,
  immediateRetries,
  DEFAULT_PUBLISH_TIMEOUT_MS,
  JetStreamOutbox,
  kvJson,
  KvMirror,
  NatsConnectionManager,
} from '@tillbus/messaging';
import { JetStreamSetup } from '@tillbus/runtime';
import { JsonLogger } from '@tillbus/observability';
import type { HealthReason, HealthStatus } from '@tillbus/result-codes';
import { servesVendor, type DeviceHealthConfig, BUCKETS, DEVICE_HEALTH_CONFIG } from '../config';
import {
  describeReasons,
  normaliseReasons,
  sameReasons,
  statusOf,
  STICKY_REASONS,
  type Findings,
} from '../health/terminal-health';
import { countFleet, DeviceHealthMetrics } from '../metrics';
import { RegistryService } from '../registry/registry.service';
import type { TerminalRecord } from '../registry/terminal.dto';

const MAX_WRITE_ATTEMPTS = 6;

/**
 * The health cache: the latest TerminalHealth of every terminal in one KV bucket, so any replica answers
 * readiness without calling a terminal. Writes are compare-and-set on the entry's revision, and only the writer
 * that changed status or reasons publishes the event (its message id is the new revision, so a retried publish
 * is de-duplicated by the stream).
 */
@Injectable()
export class HealthStore implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private kv!: KV;
  private mirror!: KvMirror<TerminalHealth>;
  /** Retries each event until the stream acks it (OUTBOX_UNTIL_ACKED), one terminal's events in order. */
  private readonly outbox = new JetStreamOutbox(() => this.connection.jetstream());

  constructor(
    private readonly setup: JetStreamSetup,
    private readonly connection: NatsConnectionManager,
    private readonly registry: RegistryService,
    private readonly metrics: DeviceHealthMetrics,
    @Inject(DEVICE_HEALTH_CONFIG) private readonly config: DeviceHealthConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly logger: JsonLogger,
  ) {}

  onModuleInit(): void {
    this.kv = this.setup.bucket(BUCKETS.health);
    this.mirror = new KvMirror<TerminalHealth>(this.kv, {
      name: 'health cache',
      decode: (value) => value as TerminalHealth,
      clock: this.clock,
      logger: this.logger,
    });
    this.mirror.start();
    this.metrics.setFleetSource(() => this.fleet());
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.mirror.ready;
  }

  async onApplicationShutdown(): Promise<void> {
    this.mirror?.stop();
    this.outbox.close();
  }

  get staleAfterMs(): number {
    return this.config.STALE_AFTER_INTERVALS * this.config.POLL_INTERVAL_MS;
  }

  /** Stores what a diagnosis found and publishes an event if status or reasons changed. */
  async record(
    terminal: TerminalRecord,
    findings: Findings,
    timing: { checkedAtMs: number; durationMs: number },
  ): Promise<TerminalHealth> {
    let previous: TerminalHealth | undefined;
    // Starts from the mirror; someone writing in between (another replica, an on-demand diagnosis) costs a
    // re-read, and the health is composed again against what is there now.
    const written = await compareAndSet<TerminalHealth>(
      this.kv,
      terminal.terminalId,
      (current) => {
        previous = current;
        return this.compose(terminal, findings, timing, current);
      },
      {
        known: this.mirror.get(terminal.terminalId) ?? null,
        retry: immediateRetries(MAX_WRITE_ATTEMPTS),
      },
    );
    if (!written.ok) throw new CasConflictError(written.key, written.attempts);
    const health = written.value!;
    this.mirror.remember(terminal.terminalId, health, written.revision);
    const changed =
      !previous ||
      previous.status !== health.status ||
      !sameReasons(previous.reasons, health.reasons);
    if (changed) await this.publish(health, previous, written.revision);
    return health;
  }

  /** Read through to KV (not the mirror): the answer to readiness. */
  async read(terminalId: string): Promise<TerminalHealth | undefined> {
    return kvJson.decode<TerminalHealth>(await this.kv.get(terminalId));
  }

  cached(terminalId: string): TerminalHealth | undefined {
    return this.mirror.get(terminalId)?.value;
  }

  async remove(terminalId: string): Promise<void> {
    await this.kv.delete(terminalId);
  }

  /** The readiness view of a terminal from its cached health: too old is UNKNOWN / STALE. */
  readiness(
    terminal: Pick<TerminalRecord, 'terminalId' | 'vendor' | 'vendorId' | 'storeId'>,
    health: TerminalHealth | undefined,
  ): Readiness {
    const identity = {
      terminalId: terminal.terminalId,
      vendor: terminal.vendor,
      vendorId: terminal.vendorId,
      storeId: terminal.storeId,
    };
    if (!health) {
      return { ...identity, status: 'UNKNOWN', reasons: ['NOT_YET_DIAGNOSED'], stale: false };
    }
    const ageMs = Math.max(0, this.clock.now() - Date.parse(health.checkedAt));
    if (ageMs > this.staleAfterMs) {
      return {
        ...identity,
        status: 'UNKNOWN',
        reasons: ['STALE'],
        stale: true,
        checkedAt: health.checkedAt,
        ageMs,
        lastKnown: { status: health.status, reasons: health.reasons, checkedAt: health.checkedAt },
      };
    }
    return {
      ...identity,
      status: health.status,
      reasons: health.reasons,
      stale: false,
      checkedAt: health.checkedAt,
      ageMs,
      details: health.details,
    };
  }

  compose(
    terminal: TerminalRecord,
    findings: Findings,
    timing: { checkedAtMs: number; durationMs: number },
    previous: TerminalHealth | undefined,
  ): TerminalHealth {
    // A busy terminal told us nothing about its hardware: what only a person can clear stays.
    const carried =
      findings.outcome === 'busy' && previous
        ? previous.reasons.filter((reason) => STICKY_REASONS.includes(reason))
        : [];
    const reasons = normaliseReasons([...findings.reasons, ...carried]);
    const status = statusOf(reasons);
    const checkedAt = new Date(timing.checkedAtMs).toISOString();
    const unchanged =
      previous && previous.status === status && sameReasons(previous.reasons, reasons);
    const message = describeReasons(reasons, findings.details);
    return {
      terminalId: terminal.terminalId,
      vendor: terminal.vendor,
      vendorId: terminal.vendorId,
      storeId: terminal.storeId,
      status,
      reasons,
      outcome: findings.outcome,
      details: message ? { ...findings.details, message } : findings.details,
      raw: findings.raw,
      checkedAt,
      changedAt: unchanged ? previous.changedAt : checkedAt,
      durationMs: Math.round(timing.durationMs),
    };
  }

  /**
   * Resolves after the first attempt: the event is in the stream, or it failed and the outbox goes on retrying it
   * in the background (a stream that refuses for a while must not hold up diagnoses).
   */
  private async publish(
    health: TerminalHealth,
    previous: TerminalHealth | undefined,
    revision: number,
  ): Promise<void> {
    const event: TerminalHealthChanged = {
      terminalId: health.terminalId,
      vendor: health.vendor,
      vendorId: health.vendorId,
      storeId: health.storeId,
      status: health.status,
      reasons: health.reasons,
      previous: previous
        ? { status: previous.status, reasons: previous.reasons, checkedAt: previous.checkedAt }
        : null,
      details: health.details,
      checkedAt: health.checkedAt,
    };
    this.logger.event('info', 'terminal health changed', {
      terminalId: health.terminalId,
      vendor: health.vendor,
      status: health.status,
      reasons: health.reasons,
      previousStatus: previous?.status ?? null,
    });
    const message = {
      subject: EVENT_SUBJECTS.terminalHealth(health.vendor, health.terminalId),
      payload: event,
      messageId: `${health.terminalId}-${revision}`,
    };
    let firstAttempt!: () => void;
    // the first attempt may wait behind an earlier event of the terminal that is being retried: not for long
    const attempted = new Promise<void>((resolve) => {
      firstAttempt = resolve;
      setTimeout(resolve, DEFAULT_PUBLISH_TIMEOUT_MS).unref();
    });
    const sending = this.outbox.send(health.terminalId, [message], {
      listener: {
        published: () => {
          this.metrics.events.inc({ vendor: health.vendor, result: 'ok' });
          firstAttempt();
        },
        attemptFailed: ({ error, attempts }) => {
          firstAttempt();
          this.metrics.events.inc({ vendor: health.vendor, result: 'failed' });
          // one line per event; the outbox retries every 2 s at most until the stream acks
          if (attempts === 1)
            this.logger.event('warn', 'could not publish a terminal health event; retrying', {
              terminalId: health.terminalId,
              error,
            });
        },
      },
    });
    void sending.finally(firstAttempt);
    await attempted;
  }

  /** Fleet counts for the gauges, from the registry and health mirrors: this deployment's vendors only. */
  private fleet() {
    const now = this.clock.now();
    const staleAfter = this.staleAfterMs;
    const terminals = this.registry.all().filter((t) => servesVendor(this.config, t.vendor));
    const items = terminals.map((terminal) => {
      const health = this.mirror.get(terminal.terminalId)?.value;
      if (!health) {
        return {
          vendor: terminal.vendor,
          status: 'UNKNOWN' as HealthStatus,
          reasons: ['NOT_YET_DIAGNOSED'] as HealthReason[],
          ageSeconds: Math.max(0, now - Date.parse(terminal.createdAt)) / 1000,
        };
      }
      const age = Math.max(0, now - Date.parse(health.checkedAt));
      const stale = age > staleAfter;
      return {
        vendor: terminal.vendor,
        status: stale ? ('UNKNOWN' as HealthStatus) : health.status,
        reasons: stale ? (['STALE'] as HealthReason[]) : health.reasons,
        ageSeconds: age / 1000,
      };
    });
    return countFleet(items);
  }
}
