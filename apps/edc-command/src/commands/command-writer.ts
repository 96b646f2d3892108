import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock } from '@tillbus/messaging';
import { EDC_CONFIG, EdcCommandConfig, recoveryBackoff } from '../config';
import { stepCancel } from '../record/cancel-step';
import { stepCommand } from '../record/command-step';
import { isSettled, type StoredCancel, type StoredCommand } from '../record/model';
import type { CancelInput, CommandInput, StepContext } from '../record/step';
import { RecordStore, type MutateResult } from '../store/stores';

/** Every change to a command or cancel record: one step, applied by compare-and-set in the record store. */
@Injectable()
export class CommandWriter {
  private readonly backoff: number[];

  constructor(
    private readonly records: RecordStore,
    @Inject(EDC_CONFIG) private readonly config: EdcCommandConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    this.backoff = recoveryBackoff(config);
  }

  apply(key: string, input: CommandInput): Promise<MutateResult<StoredCommand>> {
    return this.records.mutate<StoredCommand>(key, (current) => {
      if (current.kind !== 'command')
        return {
          record: current,
          changed: false,
          notes: [{ kind: 'stale', reason: 'not a command' }],
        };
      return stepCommand(current, input, this.context());
    });
  }

  applyCancel(key: string, input: CancelInput): Promise<MutateResult<StoredCancel>> {
    return this.records.mutate<StoredCancel>(key, (current) => {
      if (current.kind !== 'cancel') return { record: current, changed: false, notes: [] };
      return stepCancel(current, input, this.context());
    });
  }

  /** Makes this replica the owner of a running command that `previousOwner` still holds. */
  takeOver(key: string, previousOwner: string): Promise<MutateResult<StoredCommand>> {
    return this.records.mutate<StoredCommand>(key, (current) => {
      if (current.kind !== 'command' || current.owner !== previousOwner || isSettled(current)) {
        return { record: current, changed: false, notes: [] };
      }
      return stepCommand(current, { type: 'take_over' }, this.context());
    });
  }

  /**
   * Fails a command that never went to the bridge and never can (its notAfter passed: no sender sends it, and a
   * bridge would refuse it `expired`), if it is still as its creation left it and `owner` still owns it.
   */
  expireUnsent(key: string, owner: string): Promise<MutateResult<StoredCommand>> {
    return this.records.mutate<StoredCommand>(key, (current) => {
      const unsent =
        current.kind === 'command' &&
        current.owner === owner &&
        current.updatedAt === current.createdAt &&
        current.lifecycle.phase === 'sent' &&
        current.lastSeq === 0 &&
        this.clock.now() >= current.notAfter;
      if (!unsent) return { record: current, changed: false, notes: [] };
      return stepCommand(current, { type: 'refused', code: 'expired' }, this.context());
    });
  }

  private context(): StepContext {
    return {
      at: this.clock.now(),
      replicaId: this.config.REPLICA_ID,
      withoutRequestId: this.config.EDC_RECOVERY_WITHOUT_REQUEST_ID,
      recoveryBackoffMs: this.backoff,
    };
  }
}
