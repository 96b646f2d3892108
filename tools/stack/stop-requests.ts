export interface StopRequestOptions {
  /** Where SIGINT, SIGTERM and SIGHUP come from: the process, or an emitter in tests. */
  signals: NodeJS.EventEmitter;
  /** Also stop when the parent process goes away (it is then no longer there to pass signals on). */
  watchParent: boolean;
  out: (line: string) => void;
  /** The first request: stop cleanly. */
  onStop: () => void;
  /** Ctrl-C (or SIGTERM) again, more than a second later: kill everything now. */
  onForce: () => void;
}

const PARENT_POLL_MS = 500;

/**
 * What asks the orchestrator to stop:
 * - SIGINT (Ctrl-C) and SIGTERM (`kill`, `npm start -- --stop`, npm passing on its own SIGTERM); the same signal
 *   again more than a second later kills everything at once;
 * - SIGHUP (the terminal closed) and the parent process's end (npm itself killed: npm does not pass SIGHUP or
 *   SIGKILL on): a clean stop, never escalated, since no one is there to press anything twice.
 */
export class StopRequests {
  private reasonText: string | undefined;
  private requestedAt = 0;
  private forcedStop = false;
  private readonly parentWatch: NodeJS.Timeout | undefined;
  private readonly onInt = () => this.onSignal('SIGINT', true);
  private readonly onTerm = () => this.onSignal('SIGTERM', true);
  private readonly onHup = () => this.onSignal('SIGHUP', false);

  constructor(private readonly options: StopRequestOptions) {
    options.signals.on('SIGINT', this.onInt);
    options.signals.on('SIGTERM', this.onTerm);
    options.signals.on('SIGHUP', this.onHup);
    const parent = process.ppid;
    if (options.watchParent && parent > 1) {
      this.parentWatch = setInterval(() => {
        if (process.ppid === parent) return;
        clearInterval(this.parentWatch);
        if (!this.reasonText) this.request(`the parent process (pid ${parent}) is gone`);
      }, PARENT_POLL_MS);
      this.parentWatch.unref();
    }
  }

  get requested(): boolean {
    return this.reasonText !== undefined;
  }

  get forced(): boolean {
    return this.forcedStop;
  }

  dispose(): void {
    clearInterval(this.parentWatch);
    this.options.signals.off('SIGINT', this.onInt);
    this.options.signals.off('SIGTERM', this.onTerm);
    this.options.signals.off('SIGHUP', this.onHup);
  }

  private onSignal(signal: NodeJS.Signals, escalates: boolean): void {
    if (!this.reasonText) return this.request(signal);
    // `npm start` forwards the terminal's Ctrl-C to us, which the terminal also sent: one press, two signals.
    if (!escalates || this.forcedStop || Date.now() - this.requestedAt < 1000) return;
    this.forcedStop = true;
    this.options.out(`${signal} again: killing everything now`);
    this.options.onForce();
  }

  private request(reason: string): void {
    this.reasonText = reason;
    this.requestedAt = Date.now();
    this.options.out(`${reason}: stopping (press Ctrl-C again to kill everything at once)`);
    this.options.onStop();
  }
}
