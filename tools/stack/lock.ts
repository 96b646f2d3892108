import {
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { groupAlive, signalGroup, STACK_ID_ENV } from './supervisor';

export interface LockContent {
  pid: number;
  startedAt: string;
  /** Every child carries it in its environment (TILLBUS_STACK_ID). */
  stackId?: string;
  /** The processes this stack started, so a later start can clean up after an orchestrator that was killed -9. */
  children: { name: string; pid: number }[];
  summary?: string;
}

export type LockResult =
  | { acquired: true; lock: StackLock; cleanedUp: string[] }
  | { acquired: false; holder: LockContent };

/**
 * The single-instance guard: `.tillbus/stack.lock` holds the running orchestrator's pid. A second start finds
 * it alive and says so; a lock left by a dead orchestrator is taken over, after stopping the children that
 * orchestrator left behind. The lock is created whole (written aside, then hard-linked into place), so no
 * start ever reads a half-written one.
 */
export async function acquireLock(
  path: string,
  stackId: string,
  isAlive: (pid: number) => boolean = pidAlive,
): Promise<LockResult> {
  mkdirSync(dirname(path), { recursive: true });
  const lock = new StackLock(path, stackId);
  let cleanedUp: string[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const staged = lock.stage([]);
    try {
      linkSync(staged, path);
      return { acquired: true, lock, cleanedUp };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      rmSync(staged, { force: true });
    }
    const holder = readLock(path);
    if (holder && holder.pid !== process.pid && isAlive(holder.pid)) {
      return { acquired: false, holder };
    }
    cleanedUp = cleanedUp.concat(holder ? await stopLeftovers(holder) : []);
    rmSync(path, { force: true });
  }
  throw new Error(`cannot take the lock ${path}: it keeps reappearing`);
}

export class StackLock {
  private readonly startedAt = new Date().toISOString();
  private released = false;

  constructor(
    readonly path: string,
    readonly stackId: string,
  ) {}

  /** Records the children (and a summary for `--status`), replacing the file atomically. */
  update(children: { name: string; pid: number }[], summary?: string): void {
    if (this.released) return;
    renameSync(this.stage(children, summary), this.path);
  }

  stage(children: { name: string; pid: number }[], summary?: string): string {
    const content: LockContent = {
      pid: process.pid,
      startedAt: this.startedAt,
      stackId: this.stackId,
      children,
      summary,
    };
    const staged = `${this.path}.${process.pid}.tmp`;
    writeFileSync(staged, JSON.stringify(content, null, 2) + '\n', { mode: 0o600 });
    return staged;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    const holder = readLock(this.path);
    if (holder?.pid === process.pid) rmSync(this.path, { force: true });
  }
}

export function readLock(path: string): LockContent | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as LockContent;
    return typeof parsed.pid === 'number' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Children of a dead orchestrator still running in their own groups: stop them (SIGKILL; they are orphans). */
async function stopLeftovers(holder: LockContent): Promise<string[]> {
  const stopped: { name: string; pid: number }[] = [];
  for (const child of holder.children ?? []) {
    if (child.pid > 0 && holder.stackId && carriesStackId(child.pid, holder.stackId)) {
      signalGroup(child.pid, 'SIGKILL');
      stopped.push(child);
    }
  }
  // Their ports are free only once they are gone.
  const deadline = Date.now() + 5000;
  while (stopped.some((c) => groupAlive(c.pid)) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  return stopped.map((c) => `${c.name} (pid ${c.pid})`);
}

/**
 * A pid can be reused by an unrelated process: only a process whose environment carries the dead stack's id
 * is stopped (read from /proc, so on Linux; elsewhere leftovers are reported, not killed).
 */
export function carriesStackId(pid: number, stackId: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .includes(`${STACK_ID_ENV}=${stackId}`);
  } catch {
    return false;
  }
}

/** Every live process that belongs to the stack with this id (Linux): what "no orphans" is checked against. */
export function processesOfStack(stackId: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  return entries
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => pid !== process.pid && carriesStackId(pid, stackId) && !isZombie(pid));
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Ports of the plan that something else already listens on (a stack from another checkout, another program). */
export async function takenPorts<T extends { port: number }>(ports: T[]): Promise<T[]> {
  const taken: T[] = [];
  for (const entry of ports) {
    if (!(await portFree(entry.port))) taken.push(entry);
  }
  return taken;
}

export function portFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
