import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock } from '@tillbus/messaging';
import { BackgroundTaskLog, JsonLogger } from '@tillbus/observability';
import { edcCardCountdownDue, edcDeadlineDue, isEdcInFlight } from '@tillbus/result-codes';
import { BridgePresence } from '../vendor/presence';
import { CancelIntake } from '../commands/cancel-intake';
import { CommandWriter } from '../commands/command-writer';
import { EDC_CONFIG, EdcCommandConfig } from '../config';
import { shortHash } from '../store/keys';
import { EdcMetrics } from '../metrics';
import { isSettled, type StoredCommand } from '../record/model';
import { RunState } from '../lifecycle/run-state';
import { RecordStore } from '../store/stores';
import { Recovery } from './recovery';

const RESUME_CONCURRENCY = 16;
const RESUME_RETRY_MS = 1_000;
const TICK_RETRY_MS = 1_000;
const TIMER_TASK = 'command-timer';

interface Owned {
  deviceId: string;
  requestId: string;
  cancelTimer?: () => void;
  wakeAt?: number;
  /** Its deadline and card countdown as this replica last wrote or read them. */
  deadlineAt: number | null;
  countdownEndsAt: number | null;
  /**
   * The same while the timers are held, with since when they are held: the disconnect. A command owned (or whose
   * times changed) during the catch-up after a reconnect is held from the next disconnect, if one interrupts the
   * catch-up (`since` null until then: connected, it could hear its results). A resume moves them on by the time
   * since `since`.
   */
  held?: { since: number | null; deadlineAt: number | null; countdownEndsAt: number | null };
}

/**
 * The commands this replica owns, each with one timer at the moment it needs attention next: its deadline, the
 * card countdown (an automatic CommandCancel), or its next recovery attempt.
 *
 * While this replica is cut off from NATS the timers are held (`hold`): it cannot hear results or heartbeats, so
 * a timer would act on stale state. `resume` moves each held deadline and countdown on by the time the hold
 * lasted, which gives the command the time it had left when the connection went.
 */
@Injectable()
export class CommandTimers {
  private readonly owned = new Map<string, Owned>();
  private holding = false;
  /** Cut off from NATS now; while holding and not cut off, the catch-up after a reconnect runs. */
  private cutOff = false;
  private readonly failures: BackgroundTaskLog;

  constructor(
    @Inject(EDC_CONFIG) private readonly config: EdcCommandConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly records: RecordStore,
    private readonly writer: CommandWriter,
    private readonly recovery: Recovery,
    private readonly cancels: CancelIntake,
    private readonly presence: BridgePresence,
    private readonly metrics: EdcMetrics,
    private readonly logger: JsonLogger,
    private readonly run: RunState,
  ) {
    this.failures = new BackgroundTaskLog(logger);
  }

  own(key: string, record: StoredCommand): void {
    let owned = this.owned.get(key);
    if (!owned) {
      owned = {
        deviceId: record.deviceId,
        requestId: record.requestId,
        deadlineAt: null,
        countdownEndsAt: null,
      };
      this.owned.set(key, owned);
      this.metrics.owned.set(this.owned.size);
    }
    owned.deadlineAt = record.lifecycle.deadlineAt;
    owned.countdownEndsAt = record.lifecycle.countdownEndsAt;
    if (this.holding) {
      const held = owned.held;
      if (held?.deadlineAt !== owned.deadlineAt || held.countdownEndsAt !== owned.countdownEndsAt)
        owned.held = this.heldNow(owned);
      return;
    }
    const wakeAt = this.wakeAt(record);
    if (wakeAt === owned.wakeAt) return;
    owned.cancelTimer?.();
    owned.wakeAt = wakeAt ?? undefined;
    owned.cancelTimer = wakeAt === null ? undefined : this.arm(key, wakeAt);
  }

  /**
   * Runs the command's tick at `at`. A tick that fails (its record could not be read or written: an election, a
   * partition on this replica's side) is tried again shortly: dropped, the command would wait forever in its phase.
   */
  private arm(key: string, at: number): () => void {
    return this.clock.schedule(at, () => {
      const current = this.owned.get(key);
      if (current) current.wakeAt = undefined;
      void this.tick(key)
        .then(() => this.failures.succeeded(TIMER_TASK))
        .catch((error: unknown) => {
          this.failures.failed(TIMER_TASK, error);
          const owned = this.owned.get(key);
          if (!owned || this.run.stopping || this.holding) return;
          owned.cancelTimer?.();
          owned.wakeAt = this.clock.now() + TICK_RETRY_MS;
          owned.cancelTimer = this.arm(key, owned.wakeAt);
        });
    });
  }

  disown(key: string): void {
    const owned = this.owned.get(key);
    if (!owned) return;
    owned.cancelTimer?.();
    this.owned.delete(key);
    this.metrics.owned.set(this.owned.size);
  }

  owns(key: string): boolean {
    return this.owned.has(key);
  }

  /** For tests and diagnostics. */
  ownedCount(): number {
    return this.owned.size;
  }

  stopAll(): void {
    for (const owned of this.owned.values()) owned.cancelTimer?.();
  }

  /**
   * This replica lost NATS: no timer fires until `resume`. Lost again during the catch-up of an earlier loss, the
   * commands owned since that reconnect are held from now.
   */
  hold(): void {
    this.cutOff = true;
    const now = this.clock.now();
    if (this.holding) {
      for (const owned of this.owned.values())
        if (owned.held?.since === null) owned.held.since = now;
      return;
    }
    this.holding = true;
    for (const owned of this.owned.values()) {
      owned.cancelTimer?.();
      owned.cancelTimer = undefined;
      owned.wakeAt = undefined;
      owned.held = this.heldNow(owned);
    }
  }

  /** Back on NATS: the catch-up runs, the timers stay held until `resume`. */
  reconnected(): void {
    this.cutOff = false;
  }

  private heldNow(owned: Owned): NonNullable<Owned['held']> {
    return {
      since: this.cutOff ? this.clock.now() : null,
      deadlineAt: owned.deadlineAt,
      countdownEndsAt: owned.countdownEndsAt,
    };
  }

  /**
   * This replica is back and has read what the stream delivered meanwhile: each command held gets its deadline and
   * countdown moved on by the time they were held (unless something newer set them), then its timer again.
   */
  async resume(): Promise<void> {
    if (!this.holding) return;
    this.holding = false;
    this.cutOff = false;
    const keys = [...this.owned.keys()];
    for (let i = 0; i < keys.length && !this.holding; i += RESUME_CONCURRENCY)
      await Promise.all(
        keys.slice(i, i + RESUME_CONCURRENCY).map((key) => this.resumeOne(key, this.clock.now())),
      );
  }

  /** A command whose deadlines could not be moved stays held, and is tried again: re-armed unmoved it would fire early. */
  private async resumeOne(key: string, resumedAt: number): Promise<void> {
    const owned = this.owned.get(key);
    // lost again meanwhile: the next resume goes on from here
    if (!owned || this.holding) return;
    const held = owned.held;
    try {
      const heldMs = held?.since != null ? resumedAt - held.since : 0;
      if (held && heldMs > 0 && (held.deadlineAt !== null || held.countdownEndsAt !== null))
        await this.writer.apply(key, {
          type: 'held',
          heldMs,
          deadlineAt: held.deadlineAt,
          countdownEndsAt: held.countdownEndsAt,
        });
      owned.held = undefined;
      await this.tick(key);
    } catch (error) {
      this.logger.event('error', 'could not re-arm a held command timer; trying again', {
        key,
        error,
      });
      setTimeout(() => void this.resumeOne(key, resumedAt), RESUME_RETRY_MS).unref();
    }
  }

  /** Does what is due for an owned command now, then sets its next timer. */
  async tick(key: string): Promise<void> {
    if (this.run.stopping || this.holding || !this.owned.has(key)) return;
    const found = await this.records.read(key);
    const record = found?.value;
    if (!record || record.kind !== 'command' || isSettled(record)) return this.disown(key);
    if (record.owner !== this.config.REPLICA_ID) return this.disown(key);
    // the connection went while the record was read: `resume` runs this again
    if (this.holding) return;
    const now = this.clock.now();
    const deadline = edcDeadlineDue(record.lifecycle);
    const autoCancelAt = this.autoCancelDue(record);
    if (deadline !== null && now >= deadline) {
      await this.writer.apply(key, { type: 'deadline' });
    } else if (autoCancelAt !== null && now >= autoCancelAt) {
      await this.autoCancel(record);
    } else if (
      record.lifecycle.phase === 'timed_out' &&
      record.recovery?.nextAt != null &&
      now >= record.recovery.nextAt
    ) {
      await this.recovery.recover(key, record);
    }
    const latest = await this.records.read(key);
    if (
      latest?.value.kind === 'command' &&
      !isSettled(latest.value) &&
      latest.value.owner === this.config.REPLICA_ID
    ) {
      this.own(key, latest.value);
    }
  }

  /** A bridge is back: recoveries waiting for it start now. */
  bridgeBack(devices: string[]): void {
    if (this.holding) return;
    const set = new Set(devices);
    for (const [key, owned] of this.owned) {
      if (!set.has(owned.deviceId)) continue;
      void (async () => {
        const found = await this.records.read(key);
        const record = found?.value;
        if (record?.kind !== 'command' || record.lifecycle.phase !== 'timed_out') return;
        await this.writer.apply(key, {
          type: 'recovery_wait',
          nextAt: this.clock.now(),
          offlineSince: null,
        });
      })().catch((error: unknown) =>
        this.logger.event('error', 'could not resume a recovery', { error }),
      );
    }
  }

  /** Commands in flight whose bridge went silent: their result is unknown from now on. */
  async presenceTick(): Promise<void> {
    if (this.holding) return;
    for (const [key, owned] of this.owned) {
      if (!this.presence.isLost(owned.deviceId)) continue;
      const found = await this.records.read(key);
      const record = found?.value;
      if (record?.kind !== 'command' || !isEdcInFlight(record.lifecycle.phase)) continue;
      await this.writer.apply(key, { type: 'bridge_lost' });
    }
  }

  /** The one moment this command needs attention next: its deadline, the card countdown, or its next recovery. */
  private wakeAt(record: StoredCommand): number | null {
    const times: number[] = [];
    const deadline = edcDeadlineDue(record.lifecycle);
    if (deadline !== null) times.push(deadline);
    const autoCancelAt = this.autoCancelDue(record);
    if (autoCancelAt !== null) times.push(autoCancelAt);
    if (record.lifecycle.phase === 'timed_out' && record.recovery?.nextAt != null)
      times.push(record.recovery.nextAt);
    return times.length > 0 ? Math.min(...times) : null;
  }

  private autoCancelDue(record: StoredCommand): number | null {
    if (!this.config.EDC_AUTO_CANCEL_ON_EXPIRY || record.commandName !== 'Purchase') return null;
    if (record.cancelRequestId) return null;
    return edcCardCountdownDue(record.lifecycle);
  }

  /** The card countdown (`paymentExpiryTime`) ended before the card was read: cancel, which is safe before a read. */
  private async autoCancel(record: StoredCommand): Promise<void> {
    const cancelId = `auto-${shortHash(record.deviceId, record.requestId)}`;
    this.logger.event(
      'info',
      'card countdown ended before the card was read; sending CommandCancel',
      { deviceId: record.deviceId, requestId: record.requestId },
    );
    try {
      await this.cancels.submit(
        {
          deviceId: record.deviceId,
          requestId: cancelId,
          commandName: 'CommandCancel',
          params: {},
          targetRequestId: record.requestId,
        },
        true,
      );
    } catch (error) {
      this.logger.event('info', 'automatic CommandCancel not sent', {
        deviceId: record.deviceId,
        requestId: record.requestId,
        code: (error as { code?: string }).code,
      });
    }
  }
}
