import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock, sleep } from '@tillbus/messaging';
import { JsonLogger } from '@tillbus/observability';
import { BridgeDispatch, outgoingCommand } from '../commands/bridge-dispatch';
import { CommandEffects } from '../commands/command-effects';
import { CommandWriter } from '../commands/command-writer';
import { ORPHAN_LOCK_MS } from '../commands/device-lock';
import { recordKey } from '../store/keys';
import { EdcMetrics } from '../metrics';
import { EventPublisher } from '../commands/event-publisher';
import { isSettled, type StoredCommand } from '../record/model';
import { CommandTimers } from '../recovery/command-timers';
import { RunState } from '../lifecycle/run-state';
import { InDoubtIndex } from '../store/in-doubt-index';
import { DeviceStore, RecordStore } from '../store/stores';
import { OwnerLeases } from './owner-leases';

export type ScanReason = 'restart' | 'owner_lost' | 'periodic';

/** How often a submit whose record write got no answer looks whether the record was stored all the same. */
const CONFIRM_RETRY_MS = 1_000;

/**
 * Commands nobody runs: this replica's own after a restart, a dead replica's (its lease lapsed), and finished
 * ones whose device release was lost. Found by a scan of the device locks.
 */
@Injectable()
export class CommandTakeover {
  private scanning?: Promise<void>;
  private rescan?: ScanReason;
  /** Keys of submits whose record write got no answer, being looked for (confirmCreate). */
  private readonly unconfirmed = new Set<string>();

  constructor(
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly leases: OwnerLeases,
    private readonly devices: DeviceStore,
    private readonly records: RecordStore,
    private readonly writer: CommandWriter,
    private readonly dispatch: BridgeDispatch,
    private readonly timers: CommandTimers,
    private readonly effects: CommandEffects,
    private readonly inDoubt: InDoubtIndex,
    private readonly publisher: EventPublisher,
    private readonly metrics: EdcMetrics,
    private readonly logger: JsonLogger,
    private readonly run: RunState,
  ) {}

  /** An owner whose lease lapsed since the last look: take its commands. */
  async sweep(): Promise<void> {
    if (this.leases.lapsedSinceLastLook()) await this.scan('owner_lost');
  }

  /**
   * Every device lock: a command of this replica it does not run yet is resumed (after a restart), a dead
   * replica's is taken over, a finished one whose release was lost frees its device.
   */
  scan(reason: ScanReason): Promise<void> {
    if (this.scanning) {
      // a pass already running may have gone past the commands this one is for: run once more after it
      this.rescan = reason;
      return this.scanning;
    }
    this.scanning = this.scanOnce(reason).finally(() => {
      this.scanning = undefined;
      const again = this.rescan;
      this.rescan = undefined;
      if (again && !this.run.stopping) void this.scan(again);
    });
    return this.scanning;
  }

  private async scanOnce(reason: ScanReason): Promise<void> {
    for (const deviceId of await this.devices.keys()) {
      if (this.run.stopping) return;
      const { state } = await this.devices.read(deviceId);
      const holder = state?.holder;
      if (!holder) continue;
      const key = recordKey(holder.requestId);
      const found = await this.records.readOn(deviceId, holder.requestId);
      if (!found) {
        // no record, or the requestId is another device's: a submit took the lock and never wrote its record
        if (this.clock.now() - holder.since > ORPHAN_LOCK_MS)
          await this.devices.release(deviceId, holder.requestId, undefined, this.clock.now());
        continue;
      }
      const record = found.value;
      if (record.kind !== 'command') continue;
      if (isSettled(record)) {
        // its writer died before freeing the device: do it, and publish the events the stream may not have
        if (!this.leases.isLive(record.owner) || record.owner === this.leases.replicaId) {
          if (record.lifecycle.phase === 'in_doubt')
            await this.inDoubt.mark(deviceId, holder.requestId, this.clock.now());
          // the lock is what brings a scan back here: it goes once the stream has every event of the command
          void this.releaseWhenPublished(record);
        }
        continue;
      }
      if (record.owner === this.leases.replicaId && !this.timers.owns(key))
        await this.adopt(key, record.owner, 'restart');
      else if (record.owner !== this.leases.replicaId && !this.leases.isLive(record.owner))
        await this.adopt(key, record.owner, 'owner_lost');
    }
    if (reason !== 'periodic')
      this.logger.event('info', 'scanned device locks', {
        reason,
        owned: this.timers.ownedCount(),
      });
  }

  /**
   * A submit's record write got no answer (a partition cut the reply off after a quorum stored it, say): the POS was
   * refused, but the record may be stored, holding the device, and nothing runs it; the next full scan would find
   * it only after its notAfter. Looks until the store answers (a node cut off can answer from a stale copy, so an
   * absent record is looked for again until its device lock would count as orphaned). Found, the command is run
   * from here while it may still go to the bridge; past its notAfter it was never sent and never can be, so it ends
   * failed (`expired`, nothing started) instead of in a recovery that cannot tell and leaves it in doubt.
   */
  confirmCreate(key: string, written: StoredCommand): void {
    if (this.unconfirmed.has(key)) return;
    this.unconfirmed.add(key);
    this.logger.event('warn', 'a command record write got no answer; looking for the record', {
      deviceId: written.deviceId,
      requestId: written.requestId,
    });
    void this.lookForCreated(key, written)
      .catch((error: unknown) =>
        this.logger.event('error', 'could not resume a command whose record write got no answer', {
          deviceId: written.deviceId,
          requestId: written.requestId,
          error,
        }),
      )
      .finally(() => this.unconfirmed.delete(key));
  }

  private async lookForCreated(key: string, written: StoredCommand): Promise<void> {
    const until = written.notAfter + ORPHAN_LOCK_MS;
    while (!this.run.stopping && this.clock.now() < until) {
      const found = await this.records.read(key, { fresh: true }).catch(() => undefined);
      if (found) {
        const record = found.value;
        // another submit's record, one another replica took over, or one this replica already runs
        if (
          record.kind !== 'command' ||
          record.createdAt !== written.createdAt ||
          record.owner !== this.leases.replicaId ||
          isSettled(record) ||
          this.timers.owns(key)
        )
          return;
        if (this.clock.now() < record.notAfter || !(await this.expireUnsent(key, record))) {
          await this.adopt(key, record.owner, 'unconfirmed_create');
        }
        return;
      }
      await sleep(this.clock, CONFIRM_RETRY_MS);
    }
  }

  /** Ends a command nobody sent whose notAfter passed; false when it turned out to be otherwise. */
  private async expireUnsent(key: string, record: StoredCommand): Promise<boolean> {
    const expired = await this.writer.expireUnsent(key, record.owner);
    if (!expired.changed) return false;
    this.logger.event(
      'warn',
      'a command whose record write got no answer was never sent; it failed',
      {
        deviceId: record.deviceId,
        requestId: record.requestId,
        notAfter: record.notAfter,
      },
    );
    return true;
  }

  private async releaseWhenPublished(record: StoredCommand): Promise<void> {
    try {
      if (await this.publisher.publish(record))
        await this.effects.releaseDevice(record, this.clock.now());
    } catch (error) {
      // the next scan tries again
      this.logger.event('warn', 'could not free the device of a settled command', {
        deviceId: record.deviceId,
        requestId: record.requestId,
        error,
      });
    }
  }

  private async adopt(
    key: string,
    previousOwner: string,
    reason: 'restart' | 'owner_lost' | 'unconfirmed_create',
  ): Promise<void> {
    const taken = await this.writer.takeOver(key, previousOwner);
    const record = taken.record;
    if (
      !record ||
      record.kind !== 'command' ||
      isSettled(record) ||
      record.owner !== this.leases.replicaId
    )
      return;
    if (reason === 'owner_lost' && !taken.changed) return;
    this.metrics.adoptions.inc({ reason });
    this.timers.own(key, record);
    this.logger.event('info', 'took over a command', {
      deviceId: record.deviceId,
      requestId: record.requestId,
      phase: record.lifecycle.phase,
      reason,
      previousOwner,
    });
    void this.publisher.publish(record);
    const now = this.clock.now();
    // the dead owner may have died before the command reached the bridge: send it again (the bridge dedupes)
    if (record.lifecycle.phase === 'sent' && record.lastSeq === 0 && now < record.notAfter) {
      void this.dispatch.resendUntilAcked(key, outgoingCommand(record));
    }
    const recovery = record.recovery;
    if (record.lifecycle.phase === 'recovering' && recovery && now < recovery.notAfter) {
      void this.dispatch.sendRecovery(
        key,
        record.deviceId,
        record.requestId,
        recovery.requestId,
        recovery.notAfter,
      );
    }
    await this.timers.tick(key);
  }
}
