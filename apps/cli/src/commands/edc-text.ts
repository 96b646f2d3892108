import type { EdcCommandView, EdcPublicEvent } from '@tillbus/contracts';
import { EDC_PHASES, KICC_EVENT_CODES, type KiccEventCode } from '@tillbus/result-codes';
import type { CommandResult } from '../cli';
import { block, money } from '../format';

/** One line of live progress per event, timed from when the command was accepted. */
export function progressLine(event: EdcPublicEvent, startedAt: number): string {
  const t = `+${((event.at - startedAt) / 1000).toFixed(1)}s`.padStart(8);
  switch (event.type) {
    case 'device_event': {
      const known = KICC_EVENT_CODES[event.code as KiccEventCode];
      return `${t}  ${String(event.code).padEnd(22)} ${known?.meaning ?? event.message ?? ''}`.trimEnd();
    }
    case 'phase':
      return `${t}  ${`→ ${event.phase}`.padEnd(22)} ${phaseMeaning(event.phase)}${event.reason ? ` (${event.reason})` : ''}`;
    case 'recovery':
      return `${t}  ${'recovery'.padEnd(22)} attempt ${event.attempt ?? '?'}: ${[event.status, event.verdict, event.code, event.reason].filter(Boolean).join(', ')}`;
    case 'cancel':
      return `${t}  ${'cancel'.padEnd(22)} ${[event.status, event.code].filter(Boolean).join(' ')}`;
    case 'outcome':
      return `${t}  ${`= ${event.outcome ?? event.phase}`.padEnd(22)} ${event.phase}${event.resolution ? ` (resolved by ${event.resolution === 'recovery' ? 'recovery, not by the device' : event.resolution})` : ''}${event.failure ? `: ${event.failure.type} ${event.failure.code}` : ''}${event.late ? ', late result' : ''}`;
    case 'settlement':
      return `${t}  ${`settlement ${event.status ?? ''}`.padEnd(22)} ${[event.outcome, event.verdict ? `device: ${event.verdict}` : '', event.reason].filter(Boolean).join(', ')}`;
    default:
      return `${t}  ${String((event as EdcPublicEvent).type)}`;
  }
}

function phaseMeaning(phase: string): string {
  return (EDC_PHASES as Record<string, { meaning: string }>)[phase]?.meaning ?? '';
}

/** What `tillbus edc get`, `settle` and the end of a run print: the command record, for people. */
export function viewText(view: EdcCommandView): string {
  const r = view.result ?? {};
  const amount = r.paymentAmount as { value?: string; currency?: string } | undefined;
  const acquirer = (r.acquirerInfo ?? {}) as Record<string, unknown>;
  const payment = (r.paymentResultInfo ?? {}) as Record<string, unknown>;
  return block([
    ['command', `${view.commandName} ${view.requestId} on ${view.deviceId}`],
    ['phase', `${view.phase}${phaseMeaning(view.phase) ? ` (${phaseMeaning(view.phase)})` : ''}`],
    ['outcome', outcomeText(view)],
    ['resolved by', view.resolution ? resolutionText(view.resolution) : undefined],
    ['in doubt because', doubtText(view)],
    [
      'failure',
      view.failure
        ? `${view.failure.type} ${view.failure.code}${view.failure.message ? `: ${view.failure.message}` : ''}`
        : undefined,
    ],
    ['amount', amount ? money(amount.value, amount.currency) : undefined],
    [
      'approval',
      typeof acquirer.acquirerApprovalNum === 'string' ? acquirer.acquirerApprovalNum : undefined,
    ],
    ['acquirer', typeof acquirer.acquirerName === 'string' ? acquirer.acquirerName : undefined],
    ['card BIN', typeof payment.cardBin === 'string' ? payment.cardBin : undefined],
    ['recoveries', view.recoveryAttempts > 0 ? view.recoveryAttempts : undefined],
    [
      'cancel',
      view.cancel
        ? `${view.cancel.status}${view.cancel.code ? ` ${view.cancel.code}` : ''}`
        : undefined,
    ],
    ['purchase', view.purchase ? view.purchase.requestId : undefined],
    ['target', view.targetRequestId],
    ['contradicted', view.contradicted ?? undefined],
    ...settlementRows(view),
  ]);
}

function settlementRows(view: EdcCommandView): [string, string | undefined][] {
  const s = view.settlement;
  if (!s) return [];
  const conflict = s.conflict
    ? `the device said ${s.conflict.verdict}${s.conflict.code ? ` (${s.conflict.code})` : ''} afterwards: check with KICC`
    : undefined;
  return [
    [
      'settled by',
      `${s.by.operator} (NATS ${s.by.natsUser}) at ${new Date(s.at).toISOString()}: ${s.reason}`,
    ],
    ['settlement conflict', conflict],
  ];
}

/** What the person must know first: a cancelled command is cancelled, whatever outcome class it maps to. */
function outcomeText(view: EdcCommandView): string {
  if (view.phase === 'cancelled') return `CANCELLED (outcome ${view.outcome ?? 'FAILED'})`;
  return view.outcome ?? (view.final ? '-' : 'not yet');
}

const RESOLUTIONS: Record<string, string> = {
  device: "the device's own answer to this command",
  late_device: "the device's own answer, arriving after the deadline",
  recovery:
    "recovery: the device's last transaction (GetLastTransaction), not an answer to this command",
  operator: 'an operator',
  cancel: 'a cancel before the card was read',
};

function resolutionText(resolution: string): string {
  return RESOLUTIONS[resolution] ?? resolution;
}

const UNKNOWN_CAUSES: Record<string, string> = {
  deadline: 'no answer from the device before the deadline',
  bridge_lost: 'the bridge went away while the command ran',
  unknown_answer: 'the answer did not say whether the command went through',
};

/** Why the result is not known (timed_out, recovering, in_doubt): the cause, and what recovery could not tell. */
function doubtText(view: EdcCommandView): string | undefined {
  if (!['timed_out', 'recovering', 'in_doubt'].includes(view.phase)) return undefined;
  const cause = view.unknownCause
    ? (UNKNOWN_CAUSES[view.unknownCause] ?? view.unknownCause)
    : 'the result was lost';
  if (view.phase !== 'in_doubt') return cause;
  const tries = view.recoveryAttempts === 1 ? '1 attempt' : `${view.recoveryAttempts} attempts`;
  return `${cause}; recovery (GetLastTransaction, ${tries}) could not tell whether it went through`;
}

/** A command that ran but did not succeed is a failure of the CLI call, with its code. */
export function failureOf(view: EdcCommandView): Pick<CommandResult, 'failure'> {
  if (view.outcome === 'SUCCESS') return {};
  if (view.phase === 'in_doubt') {
    return {
      failure: {
        code: 'IN_DOUBT',
        message: `the result of ${view.requestId} cannot be known yet (${doubtText(view)}); it was never re-sent. An operator must check the device`,
      },
    };
  }
  if (view.phase === 'cancelled') {
    return {
      failure: {
        code: 'CANCELLED',
        message: `${view.commandName} ${view.requestId} was cancelled (${EDC_PHASES.cancelled.meaning})`,
      },
    };
  }
  if (!view.final && view.outcome === null) return {};
  return {
    failure: {
      code: view.failure?.code ?? view.outcome ?? 'FAILED',
      message: `${view.commandName} ${view.requestId} ended ${view.phase}${view.failure?.message ? `: ${view.failure.message}` : ''}`,
    },
  };
}
