import { BRIDGE_ID_PATTERN } from '@tillbus/protocols-kicc';
import type { CommandContext, CommandInput, CommandResult } from '../../cli';
import { CliError, EXIT, UsageError } from '../../errors';
import {
  CertifyContext,
  DEFAULT_CERTIFY_OPTIONS,
  runChecks,
  type CertifyOptions,
  type CertifyReport,
  type CheckReport,
  type CheckSpec,
} from './certifier';
import { CERTIFY_CHECKS } from './checks';
import { personOperator, simulatorOperator, type Operator } from './operator';
import { CertifySession } from './session';

export { CERTIFY_CHECKS } from './checks';
export type { CertifyReport } from './certifier';

import { SIMULATOR_CONTROL_SUBJECT } from '../bridge';
/** Above the protocol's 2 s, so a late ack is measured rather than lost. */
const ACK_WAIT_MS = 5_000;

export interface CertifyRun {
  servers: string;
  user?: string;
  pass?: string;
  deviceId: string;
  bridgeId?: string;
  /** The simulator's control subject: the simulator plays the person at the terminal. */
  simulatorControl?: string;
  /** Who takes the stream away and back in the outage step (tests); a person otherwise. */
  outageOperator?: Operator['outage'];
  options?: Partial<CertifyOptions>;
  checks?: readonly CheckSpec[];
  say?: (line: string) => void;
  onCheck?: (report: CheckReport) => void;
}

/** Certifies the bridge that drives one test device; never throws for what the bridge does wrong. */
export async function certifyBridge(run: CertifyRun): Promise<CertifyReport> {
  const say = run.say ?? (() => undefined);
  const session = await CertifySession.open({
    servers: run.servers,
    user: run.user,
    pass: run.pass,
    deviceId: run.deviceId,
    bridgeId: run.bridgeId,
    ackWaitMs: ACK_WAIT_MS,
  }).catch((error: unknown) => {
    throw new CliError(
      'NATS_UNREACHABLE',
      `cannot reach NATS at ${run.servers.replace(/\/\/[^@/]*@/g, '//***@')}: ${(error as Error).message}`,
      EXIT.unreachable,
      'point the certifier at the NATS of the test device with --nats <url> or NATS_URL (and NATS_USER, NATS_PASSWORD)',
    );
  });
  try {
    const person = personOperator(say);
    const outage = run.outageOperator ?? person.outage;
    const operator = run.simulatorControl
      ? simulatorOperator(session.nc, run.simulatorControl, run.deviceId, outage)
      : { terminal: person.terminal, outage };
    const ctx = new CertifyContext(
      session,
      operator,
      { ...DEFAULT_CERTIFY_OPTIONS, ...run.options },
      say,
    );
    return await runChecks(ctx, run.checks ?? CERTIFY_CHECKS, run.onCheck);
  } finally {
    await session.close();
  }
}

export function checkLine(report: CheckReport): string {
  return `${report.status.padEnd(4)}  ${report.id.padEnd(31)}  ${report.evidence}`;
}

/** `tillbus bridge certify`, loaded only when that command runs (commands/bridge.ts). */
export async function runCertifyCommand(
  ctx: CommandContext,
  { options }: CommandInput,
): Promise<CommandResult> {
  const deviceId = idOption(options.device, '--device', true)!;
  const bridgeId = idOption(options.bridge, '--bridge', false);
  const { servers, user, pass } = ctx.bus.options;
  const report = await certifyBridge({
    servers,
    user,
    pass,
    deviceId,
    bridgeId,
    simulatorControl: options.simulator
      ? String(options['control-subject'] ?? SIMULATOR_CONTROL_SUBJECT)
      : undefined,
    options: { outage: options.outage === true },
    say: ctx.progress,
    onCheck: (report) => ctx.progress(checkLine(report)),
  });
  const { pass: passed, fail, skip } = report.counts;
  const text = `bridge ${report.bridgeId ?? '?'}, device ${deviceId}: ${passed} PASS, ${fail} FAIL, ${skip} SKIP`;
  return {
    data: report,
    text,
    ...(report.passed
      ? {}
      : {
          failure: {
            code: 'CERTIFICATION_FAILED',
            message: `failed: ${report.checks
              .filter((c) => c.status === 'FAIL')
              .map((c) => c.id)
              .join(', ')}`,
          },
        }),
  };
}

function idOption(value: unknown, option: string, required: boolean): string | undefined {
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'string' || !BRIDGE_ID_PATTERN.test(value)) {
    throw new UsageError(
      `${option} must be 1-64 characters of A-Z a-z 0-9 _ -`,
      'usage: tillbus bridge certify --device <deviceId> [--bridge <bridgeId>] [--json]',
    );
  }
  return value;
}
