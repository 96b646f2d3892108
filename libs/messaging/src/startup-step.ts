import type { JsonLogger, OpsServer } from '@tillbus/observability';
import { pauseAfter, untilSuccess, type RetryPolicy } from './records/retry';

/** Where a startup step reports: every failed attempt is logged, and /readyz names the step until the boot ends. */
export interface StartupStepContext {
  logger: Pick<JsonLogger, 'event'>;
  ops?: Pick<OpsServer, 'reportStartup'>;
  policy?: RetryPolicy;
}

/**
 * A JetStream cluster that is still electing its leaders answers `timeout` or "temporarily unavailable" for some
 * seconds (a fresh 3-node cluster: about 5 s after the meta leader); the boot waits that out, never exits.
 */
export const STARTUP_RETRY: RetryPolicy = untilSuccess(500, 10_000);

/** Failed attempts logged at warn before the line turns error: about 15 s of waiting with STARTUP_RETRY. */
const QUIET_ATTEMPTS = 5;

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
      const result = await run();
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
      context.logger.event(
        attempt > QUIET_ATTEMPTS ? 'error' : 'warn',
        `startup step failed; retrying: ${step} ${target}`,
        { step, target, attempt, retryInMs, error },
        'Startup',
      );
      context.ops?.reportStartup(
        `${step} ${target}: attempt ${attempt} failed (${messageOf(error)}); retrying in ${retryInMs} ms`,
      );
      await pauseAfter(policy, attempt);
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
