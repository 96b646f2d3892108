import { randomBytes } from 'node:crypto';
import { commandTimeoutMs, type KiccCommandName } from '@tillbus/result-codes';
import type { Operator } from './operator';
import type { CertifySession, Seen } from './session';

/** What one check found: PASS or FAIL with the evidence, or SKIP with how to run it. */
export interface CheckOutcome {
  status: 'PASS' | 'FAIL' | 'SKIP';
  evidence: string;
}

export interface CheckSpec {
  id: string;
  /** The rule, in one line, with its section of docs/bridge-protocol.md. */
  rule: string;
  /** Said in the report when the check needs a person at the terminal. */
  person?: string;
  run(ctx: CertifyContext): Promise<CheckOutcome>;
}

export interface CheckReport extends CheckOutcome {
  id: string;
  rule: string;
  person?: string;
  ms: number;
}

export interface CertifyReport {
  deviceId: string;
  bridgeId: string | null;
  passed: boolean;
  counts: { pass: number; fail: number; skip: number };
  checks: CheckReport[];
}

export interface CertifyOptions {
  /** Run the outage step (the operator takes the stream away and back). */
  outage: boolean;
  /**
   * The SDK's timeout of a command (docs §4: Purchase 95 s, 115 s with a signature, PurchaseCancel 85 s, the others
   * 5 s). Tests shorten it; the CLI uses the vendor table.
   */
  vendorTimeoutMs: (commandName: KiccCommandName, params: Record<string, unknown>) => number;
  /** The heartbeat interval to assume until the bridge announces its own. */
  heartbeatWaitMs: number;
}

export const DEFAULT_CERTIFY_OPTIONS: CertifyOptions = {
  outage: false,
  vendorTimeoutMs: (commandName, params) => commandTimeoutMs(commandName, params),
  heartbeatWaitMs: 20_000,
};

/** A command the certifier started and waited for: what `timeouts.vendor` judges. */
export interface ResultWait {
  requestId: string;
  commandName: KiccCommandName;
  limitMs: number;
  /** From the ack to the result; null when none came within the limit. */
  ms: number | null;
}

export interface SucceededPurchase {
  requestId: string;
  responseData: Record<string, unknown>;
}

export class CertifyContext {
  readonly runId = randomBytes(3).toString('hex');
  bridgeId: string | null = null;
  intervalMs: number | null = null;
  readonly resultWaits: ResultWait[] = [];
  readonly purchases: SucceededPurchase[] = [];
  /** The last PurchaseCancel that succeeded: what GetLastTransaction must find. */
  lastCancel: { requestId: string } | null = null;
  private counter = 0;

  constructor(
    readonly session: CertifySession,
    readonly operator: Operator,
    readonly options: CertifyOptions,
    readonly say: (line: string) => void,
  ) {}

  requestId(what: string): string {
    this.counter += 1;
    return `cert-${this.runId}-${this.counter}-${what}`;
  }

  now(): number {
    return this.session.now();
  }

  /** Waits for a command's result, with a countdown a person can follow, and records how long it took. */
  async result(
    requestId: string,
    commandName: KiccCommandName,
    params: Record<string, unknown>,
    waitingFor: string,
  ): Promise<Seen | null> {
    const limitMs = this.options.vendorTimeoutMs(commandName, params);
    const from = this.now();
    const found = await this.session.until(
      () => this.session.traffic(requestId).find((s) => s.raw?.type === 'result'),
      limitMs,
      this.countdown(waitingFor),
    );
    this.resultWaits.push({
      requestId,
      commandName,
      limitMs,
      ms: found ? found.at - from : null,
    });
    return found;
  }

  /** An event of this code for the requestId, or null after `timeoutMs`. */
  event(requestId: string, code: string, timeoutMs: number, waitingFor: string) {
    return this.session.until(
      () =>
        this.session
          .traffic(requestId)
          .find((s) => s.raw?.type === 'event' && bodyOf(s).code === code),
      timeoutMs,
      this.countdown(waitingFor),
    );
  }

  /** Every 5 s: "waiting for <what>: 25 s left". */
  countdown(what: string): (leftMs: number) => void {
    let last = Number.POSITIVE_INFINITY;
    return (leftMs) => {
      const left = Math.ceil(leftMs / 1000);
      if (last - left >= 5) {
        last = left;
        this.say(`    waiting for ${what}: ${left} s left`);
      }
    };
  }

  /** Gives late traffic a moment to arrive (a replay, a message that should not come). */
  settle(ms = 750): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}

export function bodyOf(seen: Seen | null | undefined): Record<string, unknown> {
  const body = seen?.raw?.body;
  return body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : {};
}

/** JSON with sorted keys: a bridge that stores and re-serialises a message may order its keys differently. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  );
}

export const pass = (evidence: string): CheckOutcome => ({ status: 'PASS', evidence });
export const fail = (evidence: string): CheckOutcome => ({ status: 'FAIL', evidence });

/** Runs the checks in order; a check that throws fails with the error, and the others still run. */
export async function runChecks(
  ctx: CertifyContext,
  checks: readonly CheckSpec[],
  onCheck: (report: CheckReport) => void = () => undefined,
): Promise<CertifyReport> {
  const reports: CheckReport[] = [];
  for (const check of checks) {
    if (check.person) ctx.say(`  ${check.id}: ${check.person}`);
    const started = Date.now();
    let outcome: CheckOutcome;
    try {
      outcome = await check.run(ctx);
    } catch (error) {
      outcome = fail(
        `the check stopped: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    const report: CheckReport = {
      id: check.id,
      rule: check.rule,
      ...(check.person ? { person: check.person } : {}),
      ...outcome,
      ms: Date.now() - started,
    };
    reports.push(report);
    onCheck(report);
  }
  const count = (status: CheckOutcome['status']) =>
    reports.filter((r) => r.status === status).length;
  const counts = { pass: count('PASS'), fail: count('FAIL'), skip: count('SKIP') };
  return {
    deviceId: ctx.session.deviceId,
    bridgeId: ctx.bridgeId,
    passed: counts.fail === 0,
    counts,
    checks: reports,
  };
}
