import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

export interface ChildService {
  process: ChildProcess;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
}

const REGISTER = require.resolve('@swc-node/register');

/**
 * Runs a TypeScript entry point as a real process, compiled on the fly by SWC (decorator metadata kept), with the
 * workspace libs resolved to their sources, as in the tests.
 */
export function spawnTypeScript(
  entry: string,
  env: Record<string, string | undefined> = {},
  args: string[] = [],
): ChildService {
  const child = spawn(
    process.execPath,
    ['--conditions=tillbus-source', '-r', REGISTER, resolve(entry), ...args],
    {
      env: {
        ...process.env,
        ...env,
        TS_NODE_PROJECT: resolve(__dirname, '../../../tsconfig.json'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const listeners = new Set<() => void>();
  const append = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > 2_000_000) output = output.slice(-1_000_000);
    listeners.forEach((notify) => notify());
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (resolveExit) => child.once('exit', (code, signal) => resolveExit({ code, signal })),
  );
  return {
    process: child,
    output: () => output,
    exited,
    kill: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    waitForOutput: (pattern, timeoutMs = 30_000) =>
      new Promise<string>((resolveWait, reject) => {
        const check = () => {
          const match = output.match(pattern);
          if (match) {
            cleanup();
            resolveWait(match[0]);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `no output matching ${pattern} within ${timeoutMs} ms; output:\n${output.slice(-3000)}`,
            ),
          );
        }, timeoutMs);
        const onExit = () => {
          cleanup();
          reject(
            new Error(`process exited before printing ${pattern}; output:\n${output.slice(-3000)}`),
          );
        };
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off('exit', onExit);
        };
        listeners.add(check);
        child.once('exit', onExit);
        check();
      }),
  };
}

/**
 * Polls a child service's /readyz until it answers 200; fails at once if the process exits first (with its last
 * output). Resolves with the milliseconds it took.
 */
export async function waitUntilReady(
  child: ChildService,
  opsUrl: string,
  { timeoutMs = 60_000, intervalMs = 200 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<number> {
  const started = Date.now();
  let last = 'no answer yet';
  while (Date.now() - started < timeoutMs) {
    if (child.process.exitCode !== null || child.process.signalCode !== null) {
      throw new Error(
        `the service exited (${child.process.exitCode ?? child.process.signalCode}) before it was ready; output:\n${child.output().slice(-3000)}`,
      );
    }
    const res = await fetch(`${opsUrl}/readyz`).catch(() => undefined);
    if (res?.status === 200) return Date.now() - started;
    if (res) last = `${res.status} ${await res.text()}`;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(
    `the service was not ready within ${timeoutMs} ms (last /readyz: ${last}); output:\n${child.output().slice(-3000)}`,
  );
}
