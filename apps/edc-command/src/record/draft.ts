import type { EdcPublicEvent } from '@tillbus/contracts';
import { edcTransition, type EdcCommandRecord, type EdcEvent } from '@tillbus/result-codes';
import type { StoredCommand } from './model';
import type { Note, StepContext } from './step';

const MAX_ANOMALIES = 20;

/** A command record being changed by one step: the changes, the notes and the events it causes. */
export class Draft {
  readonly notes: Note[] = [];
  changed = false;
  readonly record: StoredCommand;

  constructor(
    original: StoredCommand,
    readonly ctx: StepContext,
  ) {
    this.record = { ...original, outbox: [...original.outbox], anomalies: [...original.anomalies] };
  }

  get life(): EdcCommandRecord {
    return this.record.lifecycle;
  }

  apply(event: EdcEvent): boolean {
    const result = edcTransition(this.record.lifecycle, event);
    if (!result.ok) {
      this.anomaly(result.reason);
      return false;
    }
    if (result.state !== this.record.lifecycle) {
      this.record.lifecycle = result.state;
      this.changed = true;
    }
    return true;
  }

  anomaly(reason: string): void {
    this.notes.push({ kind: 'refused', reason });
    if (!this.record.anomalies.includes(reason)) {
      this.record.anomalies = [...this.record.anomalies, reason].slice(-MAX_ANOMALIES);
      this.changed = true;
    }
  }

  event(
    part: Omit<
      EdcPublicEvent,
      'v' | 'seq' | 'at' | 'deviceId' | 'requestId' | 'commandName' | 'phase'
    >,
  ): void {
    const r = this.record;
    r.eventSeq += 1;
    r.outbox.push({
      v: 1,
      seq: r.eventSeq,
      at: this.ctx.at,
      deviceId: r.deviceId,
      requestId: r.requestId,
      commandName: r.commandName,
      phase: r.lifecycle.phase,
      ...part,
    });
    this.changed = true;
  }
}
