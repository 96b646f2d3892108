import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { acquireLock, portFree, processesOfStack, takenPorts } from './lock';
import { selectNats, StackError, type NatsChoice, type SelectNatsOptions } from './nats';
import { Respawner, type RespawnPolicy } from './respawn';
import { StopRequests } from './stop-requests';
import {
  groupAlive,
  signalGroup,
  Supervisor,
  type ManagedChild,
  type ProcessSpec,
} from './supervisor';

/** One process of the stack, with how to tell it is up. */
export interface PlannedProcess extends ProcessSpec {
  /** Up when this URL answers 2xx (a service's /healthz), or when this port accepts connections. */
  ready?: { url: string } | { port: number; file?: string } | { output: RegExp };
  /**
   * Processes start phase by phase, each phase once the one before is up (a simulator that writes the
   * registry a service reads at boot goes first). Default 0.
   */
  phase?: number;
}

/** A port the stack opens, for the "what runs where" table and the taken-port check. */
export interface PortUse {
  port: number;
  owner: string;
  what: string;
}

export interface StackPlan {
  processes: PlannedProcess[];
  ports: PortUse[];
  /** Printed once everything is up. */
  banner: string;
  /** Runs before a phase starts (to read what the phase before wrote, such as registries). */
  beforePhase?: (phase: number) => void | Promise<void>;
}

export interface StackOptions {
  /** `.tillbus/`: lock, logs, keys, NATS store. */
  stateDir: string;
  /**
   * Runs before anything starts (the build); a rejection stops the start with its message. The signal aborts it
   * when a stop is asked for meanwhile.
   */
  prepare?: (signal: AbortSignal) => Promise<void>;
  /** Builds the plan once NATS is known. */
  plan: (nats: NatsChoice) => StackPlan | Promise<StackPlan>;
  /** Planned ports, checked before NATS is chosen. */
  ports: PortUse[];
  nats: Omit<SelectNatsOptions, 'supervisor' | 'storeDir'>;
  out: (line: string) => void;
  /** Show every line the children print, not just warnings, errors and plain text. */
  verbose?: boolean;
  readyTimeoutMs?: number;
  /** How long a child may take to stop after SIGTERM before it is killed. */
  stopGraceMs?: number;
  /**
   * Where SIGINT, SIGTERM and SIGHUP come from (tests); by default the process, which then also stops when its
   * parent (npm) goes away.
   */
  signals?: NodeJS.EventEmitter;
  /**
   * Once the stack is up, start a process of the plan again when it exits (after a kill, a crash or a SIGTERM
   * from a test) instead of stopping everything; one that keeps exiting is backed off, then left down while the
   * rest runs on (respawn.ts).
   */
  respawn?: boolean;
  respawnPolicy?: RespawnPolicy;
}

/**
 * `npm start`: one instance at a time, NATS chosen or started, every process in its own group, a table once
 * everything answers, and on Ctrl-C (or SIGTERM) a clean stop of everything. Resolves to the exit code.
 */
export async function runStack(options: StackOptions): Promise<number> {
  const { out, stateDir } = options;
  mkdirSync(stateDir, { recursive: true });
  const stackId = randomUUID();
  const locked = await acquireLock(join(stateDir, 'stack.lock'), stackId);
  if (!locked.acquired) {
    const { holder } = locked;
    out(
      `tillbus is already running here (orchestrator pid ${holder.pid}, started ${holder.startedAt}).\n` +
        `Use that one, or stop it first: Ctrl-C in its terminal, or \`kill ${holder.pid}\`.` +
        (holder.summary ? `\n\n${holder.summary}` : ''),
    );
    return 1;
  }
  const lock = locked.lock;
  if (locked.cleanedUp.length > 0) {
    out(
      `a previous stack was killed without stopping its processes; stopped: ${locked.cleanedUp.join(', ')}`,
    );
  }

  let unexpected: ManagedChild | undefined;
  let wake: () => void = () => undefined;
  let banner: string | undefined;
  const updateLock = () => {
    const failed = respawner.failed.map((c) => `${c.name} (log: ${c.logFile})`);
    const summary =
      banner && failed.length > 0
        ? `${banner}\n\nleft down after a crash loop: ${failed.join(', ')}`
        : banner;
    lock.update(liveChildren(supervisor), summary);
  };
  const supervisor = new Supervisor({
    logDir: join(stateDir, 'logs'),
    stackId,
    onLine: (child, line) => {
      const shown = consoleLine(child.name, line, options.verbose ?? false);
      if (shown) out(shown);
    },
    onUnexpectedExit: (child) => {
      if (!stops.requested && respawner.onExit(child)) return;
      unexpected ??= child;
      wake();
    },
  });
  const respawner = new Respawner(supervisor, out, updateLock, options.respawnPolicy);
  const abortPrepare = new AbortController();
  const stops = new StopRequests({
    signals: options.signals ?? process,
    watchParent: options.signals === undefined,
    out,
    onStop: () => {
      abortPrepare.abort();
      wake();
    },
    onForce: () => supervisor.killAll(),
  });
  const cleanup = async (code: number): Promise<number> => {
    respawner.dispose();
    if (supervisor.list().length > 0) {
      out('stopping every process: services and simulators first, NATS last…');
      const report = await supervisor.stopAll(options.stopGraceMs ?? 30_000);
      for (const child of report.children) {
        const how = child.killed
          ? 'did not stop in time: killed'
          : child.signal
            ? `stopped by ${child.signal}`
            : `exited ${child.code}`;
        out(`  ${child.name.padEnd(22)} ${how}`);
      }
      for (const child of respawner.failed) {
        out(`  ${child.name.padEnd(22)} left down after a crash loop`);
      }
    }
    // Checked, not assumed: every process of this stack carries its id (Linux; elsewhere the list is empty).
    const left = processesOfStack(stackId);
    lock.release();
    stops.dispose();
    if (left.length > 0) {
      out(`stopped, but these processes of the stack are still alive: ${left.join(', ')}`);
      return 1;
    }
    out(stops.forced ? 'stopped (forced); nothing left running' : 'stopped; nothing left running');
    if (stops.forced) return 130;
    return code === 0 && respawner.failed.length > 0 ? 1 : code;
  };
  const interrupted = () => stops.requested;

  try {
    const taken = await takenPorts(options.ports);
    if (taken.length > 0) {
      out(
        `cannot start: ${taken.map((p) => `port ${p.port} (${p.owner} ${p.what})`).join(', ')} ` +
          `${taken.length === 1 ? 'is' : 'are'} already in use by another program. Another tillbus stack ` +
          `(from another checkout?) or another program holds ${taken.length === 1 ? 'it' : 'them'}: stop it, ` +
          `or change the ports in the demo configuration.`,
      );
      return await cleanup(1);
    }
    try {
      await options.prepare?.(abortPrepare.signal);
    } catch (error) {
      // Aborted by the stop: the stop is what to say, not the build's failure.
      if (!interrupted()) throw error;
    }
    if (interrupted()) return await cleanup(130);

    const nats = await selectNats({
      ...options.nats,
      storeDir: join(stateDir, 'nats'),
      supervisor,
    });
    for (const note of nats.notes) out(note);
    out(nats.explanation);
    const plan = await options.plan(nats);
    const started = await startPhases(plan, supervisor, {
      readyTimeoutMs: options.readyTimeoutMs ?? 120_000,
      stop: () => unexpected !== undefined || interrupted(),
      onStarted: updateLock,
      onWait: (resolve) => {
        wake = resolve;
      },
    });
    if (!started.ok && started.notUp) {
      out(
        `not up after ${Math.round((options.readyTimeoutMs ?? 120_000) / 1000)} s: ` +
          started.notUp
            .map((p) => `${p.name} (log: ${join(stateDir, 'logs', `${p.name}.log`)})`)
            .join(', '),
      );
      return await cleanup(1);
    }
    if (unexpected) return await cleanup(reportExit(unexpected, out));
    if (interrupted()) return await cleanup(130);

    out(plan.banner);
    if (options.respawn) respawner.watch(plan.processes);
    banner = plan.banner;
    updateLock();
    await new Promise<void>((resolve) => {
      wake = resolve;
      if (unexpected || interrupted()) resolve();
    });
    if (unexpected && !interrupted()) return await cleanup(reportExit(unexpected, out));
    return await cleanup(0);
  } catch (error) {
    out(
      error instanceof StackError
        ? error.message
        : `cannot start: ${(error as Error).stack ?? error}`,
    );
    return await cleanup(1);
  }
}

/**
 * Starts the plan phase by phase: a phase starts once every process of the one before answers its readiness
 * check. Stops early (ok false, no notUp) when `stop()` turns true: a process died, or Ctrl-C.
 */
export async function startPhases(
  plan: Pick<StackPlan, 'processes' | 'beforePhase'>,
  supervisor: Pick<Supervisor, 'start'>,
  options: {
    readyTimeoutMs: number;
    stop?: () => boolean;
    onStarted?: () => void;
    /** Lets the caller wake the wait early (a child exited, a signal came). */
    onWait?: (resolve: () => void) => void;
  },
): Promise<{ ok: true } | { ok: false; notUp?: PlannedProcess[] }> {
  const stop = options.stop ?? (() => false);
  const phases = [...new Set(plan.processes.map((p) => p.phase ?? 0))].sort((a, b) => a - b);
  for (const phase of phases) {
    await plan.beforePhase?.(phase);
    const batch = plan.processes.filter((p) => (p.phase ?? 0) === phase);
    const children = new Map(batch.map((spec) => [spec, supervisor.start(spec)]));
    options.onStarted?.();
    const deadline = Date.now() + options.readyTimeoutMs;
    const pending = new Set(batch.filter((p) => p.ready));
    while (pending.size > 0 && !stop()) {
      for (const p of [...pending]) if (await isUp(p, children.get(p))) pending.delete(p);
      if (pending.size === 0) break;
      if (Date.now() > deadline) return { ok: false, notUp: [...pending] };
      await new Promise<void>((resolve) => {
        options.onWait?.(resolve);
        setTimeout(resolve, 200);
      });
    }
    if (stop()) return { ok: false };
  }
  return { ok: true };
}

/** The processes running now, for the lock file. */
function liveChildren(supervisor: Supervisor): { name: string; pid: number }[] {
  return supervisor
    .list()
    .filter((c) => c.running)
    .map(({ name, pid }) => ({ name, pid }));
}

function reportExit(child: ManagedChild, out: (line: string) => void): number {
  out(
    `${child.name} exited (code ${child.exitCode ?? child.signal}) while the stack was running; its last lines ` +
      `(full log: ${child.logFile}):\n${child.tail(15)}\nstopping the rest`,
  );
  return 1;
}

export async function isUp(p: PlannedProcess, child?: ManagedChild): Promise<boolean> {
  if (!p.ready) return true;
  if ('output' in p.ready) return child?.printed(p.ready.output) ?? false;
  if ('url' in p.ready) {
    try {
      const response = await fetch(p.ready.url, { signal: AbortSignal.timeout(1000) });
      return response.ok;
    } catch {
      return false;
    }
  }
  if (p.ready.file && !existsSync(p.ready.file)) return false;
  return !(await portFree(p.ready.port));
}

/**
 * What reaches the console: plain lines, and JSON log lines at warn or error, shortened to `[name] level msg`.
 * Everything is in `.tillbus/logs/<name>.log` anyway.
 */
export function consoleLine(name: string, line: string, verbose: boolean): string | undefined {
  const text = line.trimEnd();
  if (!text) return undefined;
  const prefix = `[${name}]`;
  // nats-server's own log: only warnings, errors and fatal lines.
  if (!verbose && /\[(INF|DBG|TRC)\]/.test(text)) return undefined;
  if (!text.startsWith('{')) return `${prefix} ${text}`;
  let entry: { level?: string; msg?: string; [k: string]: unknown };
  try {
    entry = JSON.parse(text) as typeof entry;
  } catch {
    return `${prefix} ${text}`;
  }
  const level = entry.level ?? 'info';
  if (!verbose && level !== 'warn' && level !== 'error') return undefined;
  const extra = [
    'terminalId',
    'deviceId',
    'requestId',
    'requestOrderId',
    'phase',
    'outcome',
    'code',
    'reason',
    'error',
  ]
    .filter((k) => entry[k] !== undefined)
    .map((k) => `${k}=${typeof entry[k] === 'string' ? entry[k] : JSON.stringify(entry[k])}`)
    .join(' ');
  return `${prefix} ${level} ${entry.msg ?? ''}${extra ? ` (${extra})` : ''}`;
}

/**
 * Runs a command with its output in a log file; rejects with the log's tail when it fails. In its own process
 * group, so that an abort stops it and everything it started (SIGTERM, SIGKILL 5 s later), and settles only then.
 */
export function runLogged(
  command: string,
  args: string[],
  logFile: string,
  cwd: string,
  env: Record<string, string> = {},
  abort?: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const log = createWriteStream(logFile, { flags: 'w' });
    let tail = '';
    const child = spawn(command, args, {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
      detached: true,
    });
    const stop = () => {
      if (!child.pid) return;
      signalGroup(child.pid, 'SIGTERM');
      setTimeout(() => signalGroup(child.pid!, 'SIGKILL'), 5_000).unref();
    };
    if (abort?.aborted) stop();
    else abort?.addEventListener('abort', stop, { once: true });
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      tail = (tail + chunk.toString()).slice(-3000);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', (error) =>
      reject(new StackError(`cannot run ${command}: ${error.message}`)),
    );
    child.once('exit', async (code) => {
      log.end();
      abort?.removeEventListener('abort', stop);
      if (abort?.aborted) {
        while (child.pid && groupAlive(child.pid)) await delay(50);
        reject(new StackError(`\`${command}\` stopped`));
      } else if (code === 0) resolve();
      else
        reject(
          new StackError(
            `\`${command} ${args.join(' ')}\` failed (exit ${code}); full log in ${logFile}:\n${tail}`,
          ),
        );
    });
  });
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
