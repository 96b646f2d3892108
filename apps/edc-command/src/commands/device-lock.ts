import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock } from '@tillbus/messaging';
import { recordKey } from '../store/keys';
import { EventPublisher } from './event-publisher';
import { isSettled, type StoredRecord } from '../record/model';
import { DeviceStore, RecordStore, type DeviceState, type Holder } from '../store/stores';

/** A lock whose command record never appeared (the replica died between the two writes) is free after this. */
export const ORPHAN_LOCK_MS = 60_000;

export type DeviceLockResult =
  | { kind: 'taken'; previous: DeviceState | null }
  | { kind: 'exists'; record: StoredRecord }
  | { kind: 'busy'; holder: Holder | null };

/** At most one command in flight per device, across replicas: the device's lock in KV, taken for a submit. */
@Injectable()
export class DeviceLock {
  constructor(
    private readonly devices: DeviceStore,
    private readonly records: RecordStore,
    private readonly publisher: EventPublisher,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /**
   * Takes the device lock for `holder`. DEVICE_BUSY only when another requestId holds it: a lock held by this
   * requestId belongs to this payment (an earlier submit of it, maybe on another replica), whose command is
   * answered; and every refusal is decided on the holder as KV has it after the failed take-over, never on a
   * cached one.
   */
  async take(
    deviceId: string,
    key: string,
    holder: Holder,
    now: number,
  ): Promise<DeviceLockResult> {
    let running: Holder | null = null;
    for (let attempt = 1; attempt <= 4; attempt++) {
      const lock = await this.devices.acquire(deviceId, holder, now);
      if (lock.acquired) return { kind: 'taken', previous: lock.previous };
      const existing = await this.records.read(key, { fresh: true });
      if (existing) return { kind: 'exists', record: existing.value };
      if (lock.holder.requestId === holder.requestId) return this.join(deviceId, key);
      // its command is over and its release was lost, or is on its way: take the device
      const over = await this.isOver(deviceId, lock.holder);
      if (over) {
        const previous = await this.devices.takeOver(deviceId, holder, lock.revision, now);
        if (previous) {
          // a settled holder keeps its lock until its events are in the stream: with the lock gone, no scan
          // would find them, so this replica sends what the stream lacks
          if (over !== true && over.kind !== 'alias') void this.publisher.publish(over);
          return { kind: 'taken', previous };
        }
      }
      // refused, or the take-over lost a race: look at the device afresh before saying busy
      const fresh = (await this.devices.read(deviceId)).state?.holder ?? null;
      if (fresh?.requestId === holder.requestId) return this.join(deviceId, key);
      running = fresh;
      const unchanged =
        fresh?.requestId === lock.holder.requestId && fresh.since === lock.holder.since;
      if (unchanged && !over) break;
    }
    return { kind: 'busy', holder: running };
  }

  /**
   * An earlier submit of this requestId holds the device and is about to write its record: answer that command.
   * If the record never comes (that submit died between the two writes), the lock is this payment's: take it.
   */
  private async join(
    deviceId: string,
    key: string,
  ): Promise<
    { kind: 'taken'; previous: DeviceState | null } | { kind: 'exists'; record: StoredRecord }
  > {
    for (let i = 0; i < 80; i++) {
      const found = await this.records.read(key, { fresh: true });
      if (found) return { kind: 'exists', record: found.value };
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return { kind: 'taken', previous: (await this.devices.read(deviceId)).state };
  }

  /** The holder's command is over (its record, when it has one), or never got a record: its release was lost. */
  private async isOver(
    deviceId: string,
    holder: { requestId: string; since: number },
  ): Promise<StoredRecord | boolean> {
    const found = await this.records.read(recordKey(holder.requestId), { fresh: true });
    if (!found) return this.clock.now() - holder.since > ORPHAN_LOCK_MS;
    // the requestId is another device's command: this lock's submit lost the record and is letting go
    if (found.value.deviceId !== deviceId) return true;
    return found.value.kind !== 'command' || isSettled(found.value) ? found.value : false;
  }
}
