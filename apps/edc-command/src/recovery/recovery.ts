import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock } from '@tillbus/messaging';
import { BridgePresence } from '../vendor/presence';
import { BridgeDispatch } from '../commands/bridge-dispatch';
import { CommandWriter } from '../commands/command-writer';
import { EDC_CONFIG, EdcCommandConfig } from '../config';
import { recordKey, shortHash } from '../store/keys';
import { RECORD_VERSION, type StoredAlias, type StoredCommand } from '../record/model';
import { RecordStore } from '../store/stores';
import { JournalCheck } from './journal-check';

/**
 * Learns the result of a payment whose result is unknown with GetLastTransaction (a payment is never sent twice).
 * Each attempt has its own requestId, an alias record whose bridge traffic belongs to the command it recovers.
 * A v2 bridge's journal is asked first (JournalCheck): it can tell "never received" from "unknown".
 */
@Injectable()
export class Recovery {
  constructor(
    @Inject(EDC_CONFIG) private readonly config: EdcCommandConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly records: RecordStore,
    private readonly writer: CommandWriter,
    private readonly dispatch: BridgeDispatch,
    private readonly presence: BridgePresence,
    private readonly journal: JournalCheck,
  ) {}

  async recover(key: string, record: StoredCommand): Promise<void> {
    const now = this.clock.now();
    const presence = this.presence.device(record.deviceId);
    if (presence.state === 'offline') {
      const offlineSince = record.recovery?.offlineSince ?? now;
      if (now - offlineSince < this.config.EDC_RECOVERY_OFFLINE_WAIT_MS) {
        // the bridge coming back wakes it (CommandTimers.bridgeBack); until then look again now and then
        const nextAt = Math.min(
          offlineSince + this.config.EDC_RECOVERY_OFFLINE_WAIT_MS,
          now + 5_000,
        );
        await this.writer.apply(key, { type: 'recovery_wait', nextAt, offlineSince });
        return;
      }
    }
    if (presence.state === 'online' && (await this.journal.settles(key, record))) return;
    const attempt = record.lifecycle.recoveryAttempts + 1;
    let gltId = `glt-${attempt}-${shortHash(record.deviceId, record.requestId)}`;
    const alias: StoredAlias = {
      v: RECORD_VERSION,
      kind: 'alias',
      deviceId: record.deviceId,
      requestId: gltId,
      commandName: 'GetLastTransaction',
      aliasOf: record.requestId,
      createdAt: now,
      updatedAt: now,
      owner: this.config.REPLICA_ID,
    };
    const created = await this.records.create(recordKey(gltId), alias);
    if (
      !created.created &&
      (created.existing.kind !== 'alias' || created.existing.aliasOf !== record.requestId)
    ) {
      // a POS used this id for a command of its own: pick another
      gltId = `${gltId}-${shortHash(gltId, String(now)).slice(0, 8)}`;
      await this.records.create(recordKey(gltId), { ...alias, requestId: gltId });
    }
    const notAfter = now + this.config.EDC_DISPATCH_WINDOW_MS;
    const started = await this.writer.apply(key, {
      type: 'recovery_started',
      requestId: gltId,
      notAfter,
    });
    if (!started.changed) return;
    await this.dispatch.sendRecovery(key, record.deviceId, record.requestId, gltId, notAfter);
  }
}
