import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock } from '@tillbus/messaging';
import { JsonLogger } from '@tillbus/observability';
import { CommandWriter } from '../commands/command-writer';
import { recordKey } from '../store/keys';

/** The deadline of each CommandCancel sent from this replica: without a result by then, it timed out. */
@Injectable()
export class CancelDeadlines {
  private readonly timers = new Map<string, () => void>();

  constructor(
    private readonly writer: CommandWriter,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly logger: JsonLogger,
  ) {}

  watch(key: string, at: number): void {
    this.timers.get(key)?.();
    this.timers.set(
      key,
      this.clock.schedule(at, () => {
        this.timers.delete(key);
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
  }

  stopAll(): void {
    for (const cancel of this.timers.values()) cancel();
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
