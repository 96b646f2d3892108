import { randomBytes } from 'node:crypto';
import {
  type EdcCommandView,
  type EdcPublicEvent,
  EVENT_SUBJECTS,
  STREAMS,
  SUBJECTS,
} from '@tillbus/contracts';
import { EDC_PHASES, KICC_EVENT_CODES, type KiccEventCode } from '@tillbus/result-codes';
import type { CommandContext, CommandResult, CommandSpec } from '../cli';
import { CliError, EXIT, UsageError } from '../errors';
import { block, money } from '../format';
import { parseCount } from './common';

const WAIT_OPTION = {
  type: 'string' as const,
  description: 'how long to follow the command before giving up watching, e.g. 180s (default 200s)',
};

const DEVICE_HINT =
  'device ids look like sim-b0-d0 in the demo; a bridge must be online (its heartbeat) for its devices';

export const EDC_COMMANDS: CommandSpec[] = [
  {
    group: 'edc',
    verb: 'purchase',
    args: ['deviceId', 'amount'],
    options: {
      currency: { type: 'string', description: 'ISO currency of the amount (default KRW)' },
      installments: {
        type: 'string',
        description: 'credit installments in months (default 0: none)',
      },
      tax: { type: 'string', description: 'tax amount, in the same units' },
      tip: { type: 'string', description: 'tip amount (default 0)' },
      'card-wait': {
        type: 'string',
        description: 'seconds the device waits for a card (paymentExpiryTime, default 30)',
      },
      'acquirer-terminal-id': {
        type: 'string',
        description:
          'acquirerInfo.acquirerTerminalId (default from TILLBUS_ACQUIRER_TERMINAL_ID, else the demo one)',
      },
      'acquirer-registration-no': {
        type: 'string',
        description:
          'acquirerInfo.acquirerRegistrationNo (default from TILLBUS_ACQUIRER_REGISTRATION_NO, else the demo one)',
      },
      'request-id': {
        type: 'string',
        description:
          'the command id (default: a new one); reusing one returns that command, never a second charge',
      },
      wait: WAIT_OPTION,
    },
    summary: 'charge a card on a KICC EDC device, with live progress, then the outcome',
    help:
      "The amount is in the currency's own units (KRW has no minor unit): `tillbus edc purchase sim-b0-d0 15000`.\n" +
      'Above 50,000 KRW the device asks for a signature. Exit code 0 only when the purchase succeeded.',
    run: async (ctx, { args, options }) => {
      const currency = currencyOf(options.currency);
      const amount = digits(args.amount, '<amount>');
      const params: Record<string, unknown> = {
        paymentAmount: { value: amount, currency },
        tipAmount: {
          value: options.tip === undefined ? '0' : digits(String(options.tip), '--tip'),
          currency,
        },
        creditPayPlan: {
          installmentNum:
            options.installments === undefined
              ? '0'
              : String(parseCount(String(options.installments), '--installments', 0, 99)),
        },
        acquirerInfo: acquirerInfo(options),
      };
      if (options.tax !== undefined)
        params.taxAmount = { value: digits(String(options.tax), '--tax'), currency };
      if (options['card-wait'] !== undefined) {
        params.paymentExpiryTime = String(
          parseCount(String(options['card-wait']), '--card-wait', 1, 3600),
        );
      }
      return runAndFollow(ctx, {
        deviceId: args.deviceId,
        requestId: requestIdOf(options, 'purchase'),
        commandName: 'Purchase',
        params,
        waitMs: waitOf(options),
      });
    },
  },
  {
    group: 'edc',
    verb: 'cancel',
    args: ['deviceId', 'purchaseRequestId'],
    options: {
      'request-id': { type: 'string', description: 'the cancel command id (default: a new one)' },
      wait: WAIT_OPTION,
    },
    summary: 'cancel (refund) a succeeded Purchase: PurchaseCancel with its acquirerMetaData',
    help:
      "edc-command keeps the Purchase's acquirerMetaData and fills it in; the amounts come from the Purchase.\n" +
      'To stop a command that is still waiting for a card, use `tillbus edc abort`.',
    run: async (ctx, { args, options }) => {
      const purchase = await ctx.bus
        .request<EdcCommandView>(SUBJECTS.edc.get, {
          deviceId: args.deviceId,
          requestId: args.purchaseRequestId,
        })
        .catch(
          notFoundHint(
            `no command ${args.purchaseRequestId} on ${args.deviceId}: \`tillbus edc get <requestId>\` finds a command`,
          ),
        );
      if (purchase.commandName !== 'Purchase' || purchase.outcome !== 'SUCCESS') {
        throw new CliError(
          'ORDER_STATUS_INVALID',
          `${args.purchaseRequestId} is a ${purchase.commandName} in phase ${purchase.phase}: only a succeeded Purchase can be cancelled`,
          EXIT.failed,
        );
      }
      const result = purchase.result ?? {};
      const paymentAmount = result.paymentAmount as { value: string; currency: string } | undefined;
      if (!paymentAmount) {
        throw new CliError(
          'ORDER_STATUS_INVALID',
          `the Purchase ${args.purchaseRequestId} has no paymentAmount in its result`,
        );
      }
      const tip = (result.tipAmount as { value: string; currency: string } | undefined) ?? {
        value: '0',
        currency: paymentAmount.currency,
      };
      const acquirer = (result.acquirerInfo ?? {}) as Record<string, unknown>;
      const installments = (result.creditPayPlan as { installmentNum?: string } | undefined)
        ?.installmentNum;
      return runAndFollow(ctx, {
        deviceId: args.deviceId,
        requestId: requestIdOf(options, 'cancel'),
        commandName: 'PurchaseCancel',
        purchase: { deviceId: args.deviceId, requestId: args.purchaseRequestId },
        params: {
          paymentAmount,
          tipAmount: tip,
          ...(installments !== undefined
            ? { creditPayPlan: { installmentNum: installments } }
            : {}),
          acquirerInfo: {
            ...(typeof acquirer.acquirerTerminalId === 'string'
              ? { acquirerTerminalId: acquirer.acquirerTerminalId }
              : {}),
            ...(typeof acquirer.acquirerRegistrationNo === 'string'
              ? { acquirerRegistrationNo: acquirer.acquirerRegistrationNo }
              : {}),
          },
        },
        waitMs: waitOf(options),
      });
    },
  },
  {
    group: 'edc',
    verb: 'abort',
    args: ['deviceId', 'requestId?'],
    options: { wait: WAIT_OPTION },
    summary: 'stop the command running on a device before the card is read (CommandCancel)',
    run: async (ctx, { args, options }) =>
      runAndFollow(ctx, {
        deviceId: args.deviceId,
        requestId: newRequestId('abort'),
        commandName: 'CommandCancel',
        ...(args.requestId ? { targetRequestId: args.requestId } : {}),
        waitMs: waitOf(options),
      }),
  },
  {
    group: 'edc',
    verb: 'last',
    args: ['deviceId'],
    options: { wait: WAIT_OPTION },
    summary: "the device's last transaction (GetLastTransaction)",
    run: async (ctx, { args, options }) =>
      runAndFollow(ctx, {
        deviceId: args.deviceId,
        requestId: newRequestId('last'),
        commandName: 'GetLastTransaction',
        waitMs: waitOf(options),
      }),
  },
  {
    group: 'edc',
    verb: 'get',
    args: ['requestId'],
    options: {
      device: {
        type: 'string',
        description: "the device id (default: found from the command's events)",
      },
    },
    summary:
      'one command: phase, outcome, result (never acquirerMetaData or card data beyond the BIN)',
    run: async (ctx, { args, options }) => {
      const deviceId =
        typeof options.device === 'string'
          ? options.device
          : await deviceOfRequest(ctx, args.requestId);
      const view = await ctx.bus
        .request<EdcCommandView>(SUBJECTS.edc.get, { deviceId, requestId: args.requestId })
        .catch(notFoundHint(`no command ${args.requestId} on ${deviceId} (records are kept 72 h)`));
      return { data: view, text: viewText(view), ...failureOf(view) };
    },
  },
];

interface Submission {
  deviceId: string;
  requestId: string;
  commandName: string;
  params?: Record<string, unknown>;
  purchase?: { deviceId: string; requestId: string };
  targetRequestId?: string;
  waitMs: number;
}

/**
 * Submits, then follows the command's events on JetStream (from its first event, so none is missed) until its
 * outcome; prints each as it arrives. The outcome is read back with `get`, the record of truth.
 */
async function runAndFollow(ctx: CommandContext, submission: Submission): Promise<CommandResult> {
  const { waitMs, ...request } = submission;
  const accepted = await ctx.bus
    .request<EdcCommandView>(SUBJECTS.edc.submit, request)
    .catch(notFoundHint(DEVICE_HINT));
  ctx.progress(`${accepted.commandName} ${accepted.requestId} accepted on ${accepted.deviceId}`);
  const events: EdcPublicEvent[] = [];
  let outcome: EdcPublicEvent | undefined;
  if (!accepted.final) {
    outcome = await follow(ctx, accepted.deviceId, accepted.requestId, waitMs, (event) => {
      events.push(event);
      ctx.progress(progressLine(event, accepted.acceptedAt));
    });
  }
  const view = await ctx.bus.request<EdcCommandView>(SUBJECTS.edc.get, {
    deviceId: accepted.deviceId,
    requestId: accepted.requestId,
  });
  if (!outcome && !view.final && view.phase !== 'in_doubt') {
    throw new CliError(
      'TIMEOUT',
      `no outcome within ${Math.round(waitMs / 1000)} s; the command goes on: \`tillbus edc get ${view.requestId} --device ${view.deviceId}\``,
      EXIT.timeout,
    );
  }
  return { data: { command: view, events }, text: `\n${viewText(view)}`, ...failureOf(view) };
}

async function follow(
  ctx: CommandContext,
  deviceId: string,
  requestId: string,
  waitMs: number,
  onEvent: (event: EdcPublicEvent) => void,
): Promise<EdcPublicEvent | undefined> {
  const js = await ctx.bus.jetstream();
  const { DeliverPolicy } = await import('@nats-io/jetstream');
  const consumer = await js.consumers.get(STREAMS.edc, {
    filter_subjects: EVENT_SUBJECTS.edc(deviceId, requestId),
    deliver_policy: DeliverPolicy.All,
  });
  const messages = await consumer.consume();
  const timer = setTimeout(() => void messages.close(), waitMs);
  try {
    for await (const message of messages) {
      const event = message.json<EdcPublicEvent>();
      onEvent(event);
      if (event.type === 'outcome') return event;
    }
    return undefined;
  } finally {
    clearTimeout(timer);
    await messages.close().catch(() => undefined);
  }
}

/** The device of a command, from the subject of its events (`tillbus.events.edc.<deviceId>.<requestId>`). */
export async function deviceOfRequest(ctx: CommandContext, requestId: string): Promise<string> {
  if (!/^[A-Za-z0-9_:-]{1,128}$/.test(requestId)) {
    throw new UsageError('<requestId> must be 1-128 characters of A-Z a-z 0-9 _ : -');
  }
  const js = await ctx.bus.jetstream();
  const { DeliverPolicy } = await import('@nats-io/jetstream');
  const consumer = await js.consumers.get(STREAMS.edc, {
    filter_subjects: `tillbus.events.edc.*.${requestId}`,
    deliver_policy: DeliverPolicy.Last,
  });
  const message = await consumer.next({ expires: 2000 });
  if (!message) {
    throw new CliError(
      'NOT_FOUND',
      `no events of a command ${requestId} (records are kept 72 h, events as long as the stream keeps them)`,
      EXIT.failed,
      'name the device: `tillbus edc get <requestId> --device <deviceId>`',
    );
  }
  return message.subject.split('.')[3];
}

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
function failureOf(view: EdcCommandView): Pick<CommandResult, 'failure'> {
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

function notFoundHint(hint: string) {
  return (error: unknown): never => {
    if (
      error instanceof CliError &&
      ['NOT_FOUND', 'DEVICE_UNKNOWN', 'BRIDGE_OFFLINE'].includes(error.code)
    ) {
      throw new CliError(error.code, error.message, error.exitCode, hint, error.details);
    }
    throw error;
  };
}

function newRequestId(kind: string): string {
  return `cli-${kind}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

function requestIdOf(options: Record<string, string | boolean | undefined>, kind: string): string {
  const given = options['request-id'];
  if (typeof given !== 'string') return newRequestId(kind);
  if (!/^[A-Za-z0-9_:-]{1,128}$/.test(given)) {
    throw new UsageError('--request-id must be 1-128 characters of A-Z a-z 0-9 _ : -');
  }
  return given;
}

function waitOf(options: Record<string, string | boolean | undefined>): number {
  if (typeof options.wait !== 'string') return 200_000;
  const match = /^(\d+)(ms|s|m)?$/.exec(options.wait);
  if (!match) throw new UsageError('--wait must be a duration such as 90s or 3m');
  return Number(match[1]) * { ms: 1, s: 1000, m: 60_000 }[match[2] ?? 'ms']!;
}

function digits(text: string, what: string): string {
  if (!/^\d{1,15}$/.test(text)) {
    throw new UsageError(
      `${what} must be a whole amount in the currency's units, digits only (got "${text.slice(0, 20)}")`,
    );
  }
  return String(Number(text));
}

function currencyOf(value: string | boolean | undefined): string {
  if (value === undefined) return 'KRW';
  if (typeof value !== 'string' || !/^[A-Z]{3}$/.test(value)) {
    throw new UsageError('--currency must be a 3-letter ISO code in capitals, such as KRW');
  }
  return value;
}

function acquirerInfo(
  options: Record<string, string | boolean | undefined>,
): Record<string, string> {
  const pick = (option: string, env: string, demo: string) => {
    const value = options[option];
    return typeof value === 'string' ? value : (process.env[env] ?? demo);
  };
  return {
    acquirerTerminalId: pick('acquirer-terminal-id', 'TILLBUS_ACQUIRER_TERMINAL_ID', '0788888'),
    acquirerRegistrationNo: pick(
      'acquirer-registration-no',
      'TILLBUS_ACQUIRER_REGISTRATION_NO',
      '0216001234',
    ),
  };
}
