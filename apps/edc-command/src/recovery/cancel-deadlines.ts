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
  /** The deadlines when this replica lost NATS; null when it is not held. */
  private held: Map<string, number> | null = null;

  constructor(
    private readonly writer: CommandWriter,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly logger: JsonLogger,
  ) {}

  watch(key: string, at: number): void {
    this.timers.get(key)?.();
    this.timers.delete(key);
    this.deadlines.set(key, at);
    if (this.held) return;
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
    if (this.held) return;
    this.held = new Map(this.deadlines);
    for (const cancel of this.timers.values()) cancel();
    this.timers.clear();
  }

  /** Each deadline held gets `heldMs` more; one set during the hold counts from when it was set. */
  resume(heldMs: number): void {
    const held = this.held;
    if (!held) return;
    this.held = null;
    for (const [key, at] of [...this.deadlines])
      this.watch(key, held.get(key) === at ? at + heldMs : at);
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
