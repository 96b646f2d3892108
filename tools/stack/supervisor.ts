import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';

/** Stopped in this order: the bus clients first (they drain through NATS), NATS last. */
export type Role = 'service' | 'simulator' | 'nats';
const STOP_PHASES: Role[][] = [['service', 'simulator'], ['nats']];

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  /** Added to the orchestrator's environment. */
  env: Record<string, string>;
  role: Role;
  cwd?: string;
  /** The signal that asks it to stop cleanly: SIGTERM, but nats-server exits 0 only on SIGINT. */
  stopSignal?: NodeJS.Signals;
}

export interface ManagedChild {
  name: string;
  role: Role;
  stopSignal: NodeJS.Signals;
  pid: number;
  logFile: string;
  /** Date.now() when it was started. */
  startedAt: number;
  /** False once it exited (by itself or by a signal) or could not start. */
  running: boolean;
  /** null while it runs, and when a signal ended it. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  exited: Promise<void>;
  /** Its last lines of output. */
  tail(lines?: number): string;
  /** Whether any line it printed so far (the first 1000 and the last 100) matches. */
  printed(pattern: RegExp): boolean;
}

/** Every child's environment carries the stack's id, so leftovers can be found and told from strangers. */
export const STACK_ID_ENV = 'TILLBUS_STACK_ID';

export interface SupervisorOptions {
  logDir: string;
  stackId: string;
  /** Called with each line a child prints (stdout and stderr), for the console. */
  onLine?: (child: ManagedChild, line: string) => void;
  /** Called when a child exits while the stack is not stopping. */
  onUnexpectedExit?: (child: ManagedChild) => void;
}

export interface StopReport {
  /** Per child: how it ended. `killed` means it ignored SIGTERM for the whole grace period. */
  children: { name: string; code: number | null; signal: NodeJS.Signals | null; killed: boolean }[];
}

/**
 * Runs every process of the stack in its own process group, so that:
 * - Ctrl-C in the terminal reaches only the orchestrator, which then stops each child exactly once
 *   (a tillbus service treats a second signal as "exit now, with code 1");
 * - a stop signal reaches a child's own children too (a group kill), and nothing is left behind.
 */
export class Supervisor {
  private readonly children: (ManagedChild & { process: ChildProcess })[] = [];
  private stopping = false;

  constructor(private readonly options: SupervisorOptions) {
    mkdirSync(options.logDir, { recursive: true });
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  /** Every process started, in start order; a respawned one appears again (its latest start last). */
  list(): ManagedChild[] {
    return [...this.children];
  }

  start(spec: ProcessSpec): ManagedChild {
    if (this.stopping) throw new Error(`not starting ${spec.name}: the stack is stopping`);
    const logFile = join(this.options.logDir, `${spec.name}.log`);
    const log: WriteStream = createWriteStream(logFile, { flags: 'a' });
    log.write(`\n--- ${new Date().toISOString()} ${spec.command} ${spec.args.join(' ')}\n`);
    const proc = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env, [STACK_ID_ENV]: this.options.stackId },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let recent: string[] = [];
    const first: string[] = [];
    let exitCode: number | null = null;
    let signal: NodeJS.Signals | null = null;
    let running = true;
    const exited = new Promise<void>((resolve) => {
      proc.once('exit', (code, sig) => {
        exitCode = code;
        signal = sig;
        running = false;
        resolve();
      });
      proc.once('error', (error) => {
        recent.push(`failed to start: ${error.message}`);
        exitCode = 127;
        running = false;
        resolve();
      });
    });
    const child = {
      name: spec.name,
      role: spec.role,
      stopSignal: spec.stopSignal ?? 'SIGTERM',
      pid: proc.pid ?? -1,
      logFile,
      startedAt: Date.now(),
      process: proc,
      get running() {
        return running;
      },
      get exitCode() {
        return exitCode;
      },
      get signal() {
        return signal;
      },
      exited,
      tail: (lines = 15) => recent.slice(-lines).join('\n'),
      printed: (pattern: RegExp) =>
        first.some((l) => pattern.test(l)) || recent.some((l) => pattern.test(l)),
    };
    const onData = (stream: NodeJS.ReadableStream) => {
      let partial = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        log.write(chunk);
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          recent.push(line);
          if (first.length < 1000) first.push(line);
          this.options.onLine?.(child, line);
        }
        if (recent.length > 200) recent = recent.slice(-100);
      });
    };
    onData(proc.stdout!);
    onData(proc.stderr!);
    void exited.then(() => {
      if (this.stopping) return;
      // What it started (a helper, a worker) outlives it in its group, with no one to work for: stopped now, and
      // killed with the rest by stopAll if it lingers.
      signalGroup(child.pid, 'SIGTERM');
      this.options.onUnexpectedExit?.(child);
    });
    // 'close', not 'exit': output still in the pipes when the process exits arrives after 'exit'.
    proc.once('close', () => log.end(`--- exited code=${exitCode} signal=${signal}\n`));
    this.children.push(child);
    return child;
  }

  /**
   * The stop signal to each process group (services before NATS), SIGKILL to a group still alive after the grace
   * period, and return only when every group is empty.
   */
  async stopAll(graceMs: number): Promise<StopReport> {
    this.stopping = true;
    const report: StopReport = { children: [] };
    // A process that ended before the stop (and was perhaps started again) is not reported twice; what it left in
    // its group is stopped all the same.
    const running = this.children.filter((c) => c.running);
    const leftovers = this.children.filter((c) => !c.running && groupAlive(c.pid));
    for (const phase of STOP_PHASES) {
      const batch = running.filter((c) => phase.includes(c.role));
      const rest = leftovers.filter((c) => phase.includes(c.role));
      const [results] = await Promise.all([
        Promise.all(batch.map((c) => stopGroup(c, graceMs))),
        Promise.all(rest.map((c) => stopGroup(c, graceMs))),
      ]);
      batch.forEach((c, i) =>
        report.children.push({
          name: c.name,
          code: c.exitCode,
          signal: c.signal,
          killed: results[i],
        }),
      );
    }
    return report;
  }

  /** The second Ctrl-C: no more waiting. */
  killAll(): void {
    this.stopping = true;
    for (const child of this.children) signalGroup(child.pid, 'SIGKILL');
  }
}

/** Returns true when the group had to be killed. */
async function stopGroup(child: ManagedChild, graceMs: number): Promise<boolean> {
  if (child.pid <= 0) return false;
  signalGroup(child.pid, child.stopSignal);
  const deadline = Date.now() + graceMs;
  while (groupAlive(child.pid) && Date.now() < deadline) await delay(50);
  if (!groupAlive(child.pid)) {
    await child.exited;
    return false;
  }
  signalGroup(child.pid, 'SIGKILL');
  while (groupAlive(child.pid)) await delay(20);
  await child.exited;
  return true;
}

export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already empty.
  }
}

/** Whether any process of the group whose leader had this pid still exists (zombies included). */
export function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
