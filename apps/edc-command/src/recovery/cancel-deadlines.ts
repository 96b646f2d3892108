import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock } from '@tillbus/messaging';
import { JsonLogger } from '@tillbus/observability';
import { CommandWriter } from '../commands/command-writer';
import { recordKey } from '../store/keys';

/**
 * The deadline of each CommandCancel sent from this replica: without a result by then, it timed out. Held while
 * this replica is cut off from NATS, and re-armed after with the time each had left (see CommandTimers).
 */
@Injectable()
export class CancelDeadlines {
  private readonly timers = new Map<string, () => void>();
  private readonly deadlines = new Map<string, number>();
  /**
   * While held: each deadline, and since when it is held (the disconnect; null for one set during the catch-up
   * after a reconnect, until a disconnect interrupts it). Null when not held.
   */
  private held: Map<string, { at: number; since: number | null }> | null = null;
  private cutOff = false;

  constructor(
    private readonly writer: CommandWriter,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly logger: JsonLogger,
  ) {}

  watch(key: string, at: number): void {
    this.timers.get(key)?.();
    this.timers.delete(key);
    this.deadlines.set(key, at);
    if (this.held) {
      this.held.set(key, { at, since: this.cutOff ? this.clock.now() : null });
      return;
    }
    this.timers.set(
      key,
      this.clock.schedule(at, () => {
        this.timers.delete(key);
        this.deadlines.delete(key);
        void this.passed(key).catch((error: unknown) =>
          this.logger.event('error', 'CommandCancel deadline failed', { error }),
        );
      }),
    );
  }

  /** The cancel has its result. */
  clear(key: string): void {
    this.timers.get(key)?.();
    this.timers.delete(key);
    this.deadlines.delete(key);
  }

  stopAll(): void {
    for (const cancel of this.timers.values()) cancel();
  }

  hold(): void {
    this.cutOff = true;
    const since = this.clock.now();
    if (this.held) {
      for (const entry of this.held.values()) entry.since ??= since;
      return;
    }
    this.held = new Map([...this.deadlines].map(([key, at]) => [key, { at, since }]));
    for (const cancel of this.timers.values()) cancel();
    this.timers.clear();
  }

  /** Back on NATS: the catch-up runs, the deadlines stay held until `resume`. */
  reconnected(): void {
    this.cutOff = false;
  }

  /** Each deadline held gets the time it was held added. */
  resume(): void {
    const held = this.held;
    if (!held) return;
    this.held = null;
    this.cutOff = false;
    const now = this.clock.now();
    for (const [key, at] of [...this.deadlines]) {
      const entry = held.get(key);
      this.watch(key, entry?.at === at && entry.since !== null ? at + (now - entry.since) : at);
    }
  }

  private async passed(key: string): Promise<void> {
    const done = await this.writer.applyCancel(key, { type: 'deadline' });
    const cancel = done.record;
    if (!done.changed || !cancel) return;
    await this.writer.apply(recordKey(cancel.targetRequestId), {
      type: 'cancel_result',
      cancelRequestId: cancel.requestId,
      confirmed: false,
      code: 'CommandResponseTimeout',
    });
  }
}
