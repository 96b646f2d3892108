import type { ManagedChild, ProcessSpec } from './supervisor';

/** How `--respawn` treats a process that keeps exiting. */
export interface RespawnPolicy {
  /** A run at least this long was not a crash loop: the next exit starts counting from one again. */
  stableMs: number;
  /** The wait before the second restart in a row; each later one waits twice the one before. */
  backoffMs: number;
  maxBackoffMs: number;
  /** Exits in a row, each within stableMs of its start, after which the process is left down. */
  maxQuickExits: number;
}

/** About a minute of restarts (immediately, then 1, 2, 4, 8, 16 and 30 s later) before giving up. */
export const DEFAULT_RESPAWN_POLICY: RespawnPolicy = {
  stableMs: 60_000,
  backoffMs: 1_000,
  maxBackoffMs: 30_000,
  maxQuickExits: 8,
};

export type RespawnDecision =
  | { action: 'restart'; afterMs: number; quickExits: number }
  | { action: 'give-up'; quickExits: number };

/**
 * Counts each process's exits in a row: the first exit restarts at once (a service stopped by hand, a one-off
 * crash), later ones wait longer and longer, and a process that never stays up is left down, so that its crash
 * loop neither floods the logs nor takes the rest of the stack with it.
 */
export class RespawnTracker {
  private readonly quickExits = new Map<string, number>();

  constructor(private readonly policy: RespawnPolicy = DEFAULT_RESPAWN_POLICY) {}

  onExit(name: string, ranMs: number): RespawnDecision {
    const quickExits = ranMs >= this.policy.stableMs ? 1 : (this.quickExits.get(name) ?? 0) + 1;
    this.quickExits.set(name, quickExits);
    if (quickExits >= this.policy.maxQuickExits) return { action: 'give-up', quickExits };
    const afterMs =
      quickExits === 1
        ? 0
        : Math.min(this.policy.backoffMs * 2 ** (quickExits - 2), this.policy.maxBackoffMs);
    return { action: 'restart', afterMs, quickExits };
  }
}

/** The part of the supervisor the respawner uses. */
interface Starter {
  readonly isStopping: boolean;
  start(spec: ProcessSpec): ManagedChild;
}

/**
 * `--respawn` once the stack is up: starts a process of the plan again when it exits, backing off as the tracker
 * says, and leaves one that never stays up down (reported, and the stack's final exit code turns 1).
 */
export class Respawner {
  private readonly tracker: RespawnTracker;
  private readonly specs = new Map<string, ProcessSpec>();
  private readonly pending = new Set<NodeJS.Timeout>();
  private readonly failedChildren: ManagedChild[] = [];

  constructor(
    private readonly supervisor: Starter,
    private readonly out: (line: string) => void,
    /** After each start and each give-up (to update the lock). */
    private readonly onChange: () => void,
    private readonly policy: RespawnPolicy = DEFAULT_RESPAWN_POLICY,
  ) {
    this.tracker = new RespawnTracker(policy);
  }

  /** From now on these processes are started again when they exit. */
  watch(specs: ProcessSpec[]): void {
    for (const spec of specs) this.specs.set(spec.name, spec);
  }

  /** Whether it takes care of this exit; false leaves it to the caller (which stops the stack). */
  onExit(child: ManagedChild): boolean {
    const spec = this.specs.get(child.name);
    if (!spec) return false;
    const how = `code ${child.exitCode ?? child.signal}`;
    const decision = this.tracker.onExit(child.name, Date.now() - child.startedAt);
    if (decision.action === 'give-up') {
      this.failedChildren.push(child);
      this.out(
        `${child.name} failed: it exited (${how}) ${decision.quickExits} times in a row, each within ` +
          `${Math.round(this.policy.stableMs / 1000)} s of its start; left down. Its last lines (full log: ` +
          `${child.logFile}):\n${child.tail(15)}\nthe rest of the stack keeps running; it will exit 1 when stopped`,
      );
      this.onChange();
      return true;
    }
    const when =
      decision.afterMs === 0
        ? ''
        : ` in ${formatSeconds(decision.afterMs)} (exit ${decision.quickExits} in a row)`;
    this.out(`${child.name} exited (${how}); starting it again${when} (log: ${child.logFile})`);
    const timer = setTimeout(() => {
      this.pending.delete(timer);
      if (this.supervisor.isStopping) return;
      this.supervisor.start(spec);
      this.onChange();
    }, decision.afterMs);
    this.pending.add(timer);
    return true;
  }

  /** The processes left down after a crash loop. */
  get failed(): ManagedChild[] {
    return [...this.failedChildren];
  }

  /** No more restarts (the stack is stopping). */
  dispose(): void {
    for (const timer of this.pending) clearTimeout(timer);
    this.pending.clear();
  }
}

const formatSeconds = (ms: number) => `${Number((ms / 1000).toFixed(1))} s`;
