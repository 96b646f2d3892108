import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock } from '@tillbus/messaging';
import { JsonLogger } from '@tillbus/observability';
import { edcOutcome, kiccCommandKind } from '@tillbus/result-codes';
import { EDC_CONFIG, EdcCommandConfig } from '../config';
import { recordKey } from '../store/keys';
import { EdcMetrics } from '../metrics';
import { EventPublisher } from './event-publisher';
import { isDone, isSettled, viewOf, type StoredCommand, type StoredRecord } from '../record/model';
import type { Note } from '../record/step';
import { CancelDeadlines } from '../recovery/cancel-deadlines';
import { CommandTimers } from '../recovery/command-timers';
import { InDoubtIndex } from '../store/in-doubt-index';
import { DeviceStore, RecordStore, type Written } from '../store/stores';
import { CommandWriter } from './command-writer';
import { SubmitWaiters } from './submit-waiters';

/**
 * What follows a write of a record, in this replica: its timers, waiting submit-and-wait requests, its public
 * events, and once it settles the device lock, the in-doubt index, the outcome metrics and the cancel acting on it.
 */
@Injectable()
export class CommandEffects {
  constructor(
    @Inject(EDC_CONFIG) private readonly config: EdcCommandConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    records: RecordStore,
    private readonly devices: DeviceStore,
    private readonly writer: CommandWriter,
    private readonly timers: CommandTimers,
    private readonly cancelDeadlines: CancelDeadlines,
    private readonly waiters: SubmitWaiters,
    private readonly publisher: EventPublisher,
    private readonly inDoubt: InDoubtIndex,
    private readonly metrics: EdcMetrics,
    private readonly logger: JsonLogger,
  ) {
    records.onWritten((written) => this.afterWrite(written));
  }

  /** Runs once per successful write: timers, the device lock, the in-doubt index, metrics, then the events. */
  private async afterWrite({ key, before, after, notes }: Written): Promise<void> {
    for (const note of notes) this.noteMetrics(after, note);
    if (after.kind === 'cancel') {
      if (after.phase !== 'sent') {
        this.cancelDeadlines.clear(key);
        this.waiters.wake(key);
      }
      void this.publisher.publish(after, before.kind === 'cancel' ? before.eventSeq + 1 : 1);
      return;
    }
    if (after.kind !== 'command' || before.kind !== 'command') return;
    const now = this.clock.now();
    const wasSettled = isSettled(before);
    const settled = isSettled(after);
    if (settled) this.timers.disown(key);
    else if (after.owner === this.config.REPLICA_ID) this.timers.own(key, after);
    else this.timers.disown(key);
    const phaseChanged = before.lifecycle.phase !== after.lifecycle.phase;
    if (wasSettled && !settled) {
      this.logger.event('warn', 'a settled command moved back', {
        deviceId: after.deviceId,
        requestId: after.requestId,
      });
    }
    // a waiting submit-and-wait answers first (the record is stored), then the events go out. A submit that races
    // the device release finds the holder settled and takes the device (DeviceLock.take), so a POS never sees
    // DEVICE_BUSY because of a command it saw finish.
    if (this.waiters.has(key) && isDone(viewOf(after))) this.waiters.wake(key);
    const published = this.publisher.publish(after, before.eventSeq + 1);
    if (settled && (!wasSettled || phaseChanged)) {
      try {
        await this.settle(after, before, now, published);
      } catch (error) {
        // the record is right; the next scan frees the device and fixes the index (CommandTakeover.scan)
        this.logger.event('error', 'could not finish settling a command', {
          deviceId: after.deviceId,
          requestId: after.requestId,
          error,
        });
      }
    }
  }

  private async settle(
    after: StoredCommand,
    before: StoredCommand,
    now: number,
    published: Promise<boolean>,
  ): Promise<void> {
    const life = after.lifecycle;
    const outcome = edcOutcome(life) ?? 'UNKNOWN';
    if (!isSettled(before)) {
      this.metrics.commands.inc({ command: after.commandName, outcome });
      this.metrics.duration.observe(
        { command: after.commandName },
        Math.max(0, (life.finishedAt ?? now) - life.acceptedAt) / 1000,
      );
    } else if (before.lifecycle.phase !== life.phase && life.resolution !== 'operator') {
      this.metrics.lateResults.inc({ command: after.commandName, outcome });
    }
    void this.releaseWhenPublished(after, now, published);
    if (life.phase === 'in_doubt') {
      await this.inDoubt.mark(after.deviceId, after.requestId, now);
      this.logger.event('warn', 'command in doubt: an operator must check it with KICC', {
        deviceId: after.deviceId,
        requestId: after.requestId,
        commandName: after.commandName,
        reason: after.recovery?.reason ?? life.unknownCause,
      });
    } else if (before.lifecycle.phase === 'in_doubt') {
      await this.inDoubt.clear(after.deviceId, after.requestId);
    }
    if (after.cancelRequestId && before.lifecycle.cancel?.status === 'pending') {
      await this.writer.applyCancel(recordKey(after.cancelRequestId), {
        type: 'target_settled',
        cancelled: life.phase === 'cancelled',
        phase: life.phase,
      });
    }
    this.logger.event(
      life.phase === 'succeeded' || life.phase === 'cancelled' ? 'info' : 'warn',
      'command outcome',
      {
        deviceId: after.deviceId,
        requestId: after.requestId,
        commandName: after.commandName,
        phase: life.phase,
        outcome,
        resolution: life.resolution,
        ...(life.failure ? { failure: life.failure } : {}),
        ...(life.contradicted ? { contradicted: life.contradicted } : {}),
      },
    );
  }

  /**
   * The device lock is what makes a take-over scan find a command: it stays held until the command's events are in
   * the stream, so if this replica stops first, the next owner publishes them. Nothing waits for it: a new submit
   * for the device takes the lock of a settled command (DeviceLock.take), and the bridge message that settled the
   * command is acked without waiting for the stream.
   */
  private async releaseWhenPublished(
    record: StoredCommand,
    now: number,
    published: Promise<boolean>,
  ): Promise<void> {
    try {
      if (await published) await this.releaseDevice(record, now);
    } catch (error) {
      // the next scan frees it (CommandTakeover.scan)
      this.logger.event('warn', 'could not free the device of a settled command', {
        deviceId: record.deviceId,
        requestId: record.requestId,
        error,
      });
    }
  }

  /**
   * Frees the device if this command still holds it, recording the transaction it left behind: the id of a
   * payment that succeeded, unknown (null) after one in doubt, unchanged otherwise.
   */
  async releaseDevice(record: StoredCommand, now: number): Promise<void> {
    const life = record.lifecycle;
    const payment = kiccCommandKind(record.commandName) === 'payment';
    const transactionId = (
      record.result?.acquirerInfo as { acquirerTransactionId?: unknown } | undefined
    )?.acquirerTransactionId;
    let lastTransactionId: string | null | undefined;
    if (payment && life.phase === 'succeeded') {
      lastTransactionId = typeof transactionId === 'string' && transactionId ? transactionId : null;
    } else if (payment && life.phase === 'in_doubt') {
      lastTransactionId = null;
    }
    await this.devices.release(record.deviceId, record.requestId, lastTransactionId, now);
  }

  private noteMetrics(record: StoredRecord, note: Note): void {
    const command = record.commandName;
    switch (note.kind) {
      case 'timeout':
        this.metrics.timeouts.inc({ command, cause: note.cause });
        this.logger.event('warn', 'command result unknown; recovery follows', {
          deviceId: record.deviceId,
          requestId: record.requestId,
          commandName: command,
          cause: note.cause,
        });
        return;
      case 'recovery':
        this.metrics.recoveries.inc({ result: note.result });
        this.logger.event('info', 'recovery', {
          deviceId: record.deviceId,
          requestId: record.requestId,
          result: note.result,
          reason: note.reason,
        });
        return;
      case 'cancel':
        this.metrics.cancels.inc({ result: note.result });
        return;
      case 'refused':
        this.metrics.anomalies.inc({ kind: 'refused_transition' });
        this.logger.event('warn', 'refused a transition', {
          deviceId: record.deviceId,
          requestId: record.requestId,
          reason: note.reason,
        });
        return;
      case 'contradicted':
        this.metrics.anomalies.inc({ kind: 'contradicted' });
        return;
      case 'settled':
        this.metrics.settlements.inc({ outcome: note.outcome });
        return;
      case 'settlement_conflict':
        this.metrics.settlementConflicts.inc({ command });
        this.logger.event('error', 'a device result disagrees with an operator settlement', {
          deviceId: record.deviceId,
          requestId: record.requestId,
        });
        return;
      default:
        return;
    }
  }
}
