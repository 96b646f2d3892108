import { userInfo } from 'node:os';
import { type EdcCommandView, type EdcSettleRequest, SUBJECTS } from '@tillbus/contracts';
import type { CommandSpec } from '../cli';
import { CliError, EXIT, UsageError } from '../errors';
import { deviceOfRequest } from './edc-run';
import { viewText } from './edc-text';

const OUTCOMES = ['SUCCESS', 'FAILED'] as const;

/** `tillbus edc settle`: an operator closes a command in doubt after checking it with KICC. */
export const EDC_SETTLE_COMMAND: CommandSpec = {
  group: 'edc',
  verb: 'settle',
  args: ['requestId'],
  options: {
    outcome: { type: 'string', description: 'what KICC says happened: SUCCESS or FAILED' },
    reason: { type: 'string', description: 'why, in words (what KICC said, a ticket)' },
    approval: { type: 'string', description: 'the approval number KICC gave, for a SUCCESS' },
    device: {
      type: 'string',
      description: "the device id (default: found from the command's events)",
    },
    operator: { type: 'string', description: 'who settles it (default: your login name)' },
  },
  summary: 'settle a command in doubt after checking it with KICC (operator only)',
  help:
    'Only a command in doubt can be settled (NOT_IN_DOUBT otherwise); the record keeps who, when, why and what\n' +
    'the device last said. Only the operator NATS identity may send it. See docs/operations.md.',
  run: async (ctx, { args, options }) => {
    const outcome = String(options.outcome ?? '').toUpperCase();
    if (!OUTCOMES.includes(outcome as (typeof OUTCOMES)[number])) {
      throw new UsageError(`--outcome must be one of ${OUTCOMES.join(', ')}`);
    }
    const reason = typeof options.reason === 'string' ? options.reason.trim() : '';
    if (reason.length < 3) throw new UsageError('--reason is required (at least 3 characters)');
    const deviceId =
      typeof options.device === 'string'
        ? options.device
        : await deviceOfRequest(ctx, args.requestId);
    const request: EdcSettleRequest = {
      deviceId,
      requestId: args.requestId,
      outcome: outcome as EdcSettleRequest['outcome'],
      reason,
      ...(typeof options.approval === 'string' ? { approval: options.approval } : {}),
      operator:
        typeof options.operator === 'string' ? options.operator : (ctx.env.USER ?? loginName()),
      natsUser: ctx.env.NATS_USER ?? '(none)',
    };
    const view = await ctx.bus
      .request<EdcCommandView>(SUBJECTS.edc.settle, request)
      .catch((error: unknown) => {
        if (error instanceof CliError && error.code === 'NOT_IN_DOUBT') {
          throw new CliError(
            error.code,
            error.message,
            EXIT.failed,
            `\`tillbus edc get ${args.requestId}\` shows its phase`,
            error.details,
          );
        }
        throw error;
      });
    return { data: view, text: viewText(view) };
  },
};

function loginName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
