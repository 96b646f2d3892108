import type { JsonLogLevel } from './json-logger';

/** What a BackgroundTaskLog writes through; JsonLogger fits. */
export interface TaskLogger {
  event(level: JsonLogLevel, msg: string, fields?: Record<string, unknown>, context?: string): void;
}

export interface BackgroundTaskLogOptions {
  /** While a task keeps failing, at most one line per task per this many ms after its first failure. */
  intervalMs?: number;
  /** The level of the failure lines (the recovery line is info). */
  level?: 'error' | 'warn';
  /** The wall clock unless a test drives time. */
  now?: () => number;
}

interface Outage {
  since: number;
  failures: number;
  /** Failures since the last line. */
  unlogged: number;
  lastLineAt: number;
}

/** One line a minute per task is enough to see an outage; 127 identical lines hide everything else. */
export const BACKGROUND_FAILURE_LOG_INTERVAL_MS = 60_000;

/**
 * The one home of how a service's background loops (lease renewal, sweeps, ticks, watches) report failures: every
 * line names the task; a task that keeps failing during an outage logs its first failure, then at most one line per
 * interval with `repeated` (failures since the previous line), and one `recovered` line when it works again.
 */
export class BackgroundTaskLog {
  private readonly outages = new Map<string, Outage>();
  private readonly intervalMs: number;
  private readonly level: 'error' | 'warn';
  private readonly now: () => number;

  constructor(
    private readonly logger: TaskLogger,
    options: BackgroundTaskLogOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? BACKGROUND_FAILURE_LOG_INTERVAL_MS;
    this.level = options.level ?? 'error';
    this.now = options.now ?? Date.now;
  }

  /** Runs one round of `task` and reports how it went; never throws. */
  async run(task: string, round: () => Promise<unknown> | unknown): Promise<void> {
    try {
      await round();
    } catch (error) {
      this.failed(task, error);
      return;
    }
    this.succeeded(task);
  }

  failed(task: string, error: unknown): void {
    const now = this.now();
    const outage = this.outages.get(task);
    if (!outage) {
      this.outages.set(task, { since: now, failures: 1, unlogged: 0, lastLineAt: now });
      this.logger.event(this.level, `background task failed: ${task}`, { task, error });
      return;
    }
    outage.failures++;
    outage.unlogged++;
    if (now - outage.lastLineAt < this.intervalMs) return;
    this.logger.event(this.level, `background task still failing: ${task}`, {
      task,
      repeated: outage.unlogged,
      failingForMs: now - outage.since,
      error,
    });
    outage.unlogged = 0;
    outage.lastLineAt = now;
  }

  succeeded(task: string): void {
    const outage = this.outages.get(task);
    if (!outage) return;
    this.outages.delete(task);
    this.logger.event('info', `background task recovered: ${task}`, {
      task,
      failures: outage.failures,
      repeated: outage.unlogged,
      failedForMs: this.now() - outage.since,
    });
  }

  /** Whether `task` failed last time (an outage is on). */
  isFailing(task: string): boolean {
    return this.outages.has(task);
  }
}
