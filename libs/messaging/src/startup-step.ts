import type { JsonLogger, OpsServer } from '@tillbus/observability';
import { pauseAfter, untilSuccess, type RetryPolicy } from './records/retry';

/** Where a startup step reports: every failed attempt is logged, and /readyz names the step until the boot ends. */
export interface StartupStepContext {
  logger: Pick<JsonLogger, 'event'>;
  ops?: Pick<OpsServer, 'reportStartup'>;
  policy?: RetryPolicy;
  /**
   * How long one attempt is waited for (ATTEMPT_PATIENCE_MS); Infinity for a step whose attempts must not overlap or
   * may take longer (a scan of every device).
   */
  patienceMs?: number;
}

/**
 * A JetStream cluster that is still electing its leaders answers `timeout`, "temporarily unavailable" or (a stream
 * without a leader yet) "no responders" for some seconds (a fresh 3-node cluster: about 5 s after the meta leader;
 * its consumers can take seconds more); the boot waits that out, never exits. The pause stays short because the
 * service should take its first command within a second of quorum: with the earlier cap of 10 s a boot that waited
 * through an election was ready up to 10 s after it. Two small JetStream requests a second per step and replica.
 */
export const STARTUP_RETRY: RetryPolicy = untilSuccess(250, 500);

/**
 * An attempt unanswered this long is not waited for: the next one goes out after the pause. A request sent while a
 * stream had no leader is not answered once it has one; it times out (5 s, the client's default), and the boot with
 * it. The attempt given up on may still land: every step is idempotent (a declaration, a lease put, a seed write).
 */
export const ATTEMPT_PATIENCE_MS = 1_000;

/** Failed attempts logged at warn, one line each, before the lines turn error: about 15 s with STARTUP_RETRY. */
const QUIET_ATTEMPTS = 30;
/** After that, one line every this many attempts (about every 10 s): /readyz always says the latest. */
const LOUD_EVERY = 20;

/**
 * Runs one step of a service's boot (`declare stream`, `TILLBUS_EDC`) until it succeeds, with backoff. Each failed
 * attempt logs one line naming the step and its target, and the ops server's /readyz names it meanwhile.
 */
export async function runStartupStep<T>(
  step: string,
  target: string,
  run: () => Promise<T>,
  context: StartupStepContext,
): Promise<T> {
  const policy = context.policy ?? STARTUP_RETRY;
  for (let attempt = 1; ; attempt++) {
    context.ops?.reportStartup(`${step} ${target}`);
    try {
      const result = await answeredWithin(run(), context.patienceMs ?? ATTEMPT_PATIENCE_MS);
      if (attempt > 1) {
        context.logger.event(
          'info',
          `startup step done: ${step} ${target}`,
          { step, target, attempts: attempt },
          'Startup',
        );
      }
      return result;
    } catch (error) {
      if (attempt >= policy.maxAttempts) throw error;
      const retryInMs = policy.delayMs(attempt);
      const loud = attempt > QUIET_ATTEMPTS;
      if (!loud || attempt % LOUD_EVERY === 0) {
        context.logger.event(
          loud ? 'error' : 'warn',
          `startup step failed; retrying: ${step} ${target}`,
          { step, target, attempt, retryInMs, error },
          'Startup',
        );
      }
      context.ops?.reportStartup(
        `${step} ${target}: attempt ${attempt} failed (${messageOf(error)}); retrying in ${retryInMs} ms`,
      );
      await pauseAfter(policy, attempt);
    }
  }
}

export class StartupAttemptUnanswered extends Error {
  override readonly name = 'StartupAttemptUnanswered';
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
  }
}

function answeredWithin<T>(attempt: Promise<T>, ms: number): Promise<T> {
  if (!Number.isFinite(ms)) return attempt;
  // an attempt given up on may still fail later, with nobody waiting for it
  attempt.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const unanswered = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new StartupAttemptUnanswered(ms)), ms);
  });
  return Promise.race([attempt, unanswered]).finally(() => clearTimeout(timer));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
