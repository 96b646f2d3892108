import {
  READER_ID,
  type SessionListReply,
  type SessionView,
  type SignOnReply,
  SUBJECTS,
} from '@tillbus/contracts';
import { EASYCARD_SESSION_STATES } from '@tillbus/result-codes';
import type { CommandSpec } from '../cli';
import { UsageError } from '../errors';
import { block, duration, relative, table } from '../format';
import { hintNotFound, parseCount } from './common';

const NOT_FOUND_HINT = '`tillbus easycard sessions` lists the readers easycard-session knows';

export const EASYCARD_COMMANDS: CommandSpec[] = [
  {
    group: 'easycard',
    verb: 'sessions',
    args: [],
    options: {
      state: {
        type: 'string',
        description: `only this state: ${EASYCARD_SESSION_STATES.join(', ')}`,
      },
      merchant: { type: 'string', description: 'only this MchId' },
      limit: { type: 'string', description: 'at most this many (default 1000)' },
    },
    summary: 'every EasyCard reader: signed on or not, until when, what failed',
    run: async (ctx, { options }) => {
      const payload: Record<string, unknown> = {};
      if (typeof options.state === 'string') {
        if (!(EASYCARD_SESSION_STATES as readonly string[]).includes(options.state)) {
          throw new UsageError(`--state must be one of ${EASYCARD_SESSION_STATES.join(', ')}`);
        }
        payload.state = options.state;
      }
      if (typeof options.merchant === 'string') payload.mchId = options.merchant;
      if (typeof options.limit === 'string')
        payload.limit = parseCount(options.limit, '--limit', 1, 10_000);
      const reply = await ctx.bus.request<SessionListReply>(SUBJECTS.easycard.sessionList, payload);
      const now = ctx.now();
      const usable = reply.sessions.filter((s) => s.usable).length;
      const text = [
        table(reply.sessions, [
          { header: 'READER', value: (s) => s.deviceId },
          { header: 'MERCHANT', value: (s) => s.mchId },
          { header: 'STATE', value: (s) => s.state },
          { header: 'USABLE', value: (s) => (s.usable ? 'yes' : 'NO') },
          { header: 'EXPIRES', value: (s) => expiryText(s, now) },
          { header: 'RENEWALS', value: (s) => s.renewals, right: true },
          { header: 'PROBLEM', value: (s) => problemText(s, now) },
        ]),
        '',
        `${usable} of ${reply.total} readers usable${reply.total > reply.sessions.length ? ` (${reply.sessions.length} shown)` : ''}`,
      ].join('\n');
      return { data: reply, text };
    },
  },
  {
    group: 'easycard',
    verb: 'session',
    args: ['deviceId'],
    summary: "one reader's session: state, expiry, last failure, settlement (never the key)",
    run: async (ctx, { args }) => {
      const session = await ctx.bus
        .request<SessionView>(SUBJECTS.easycard.sessionGet, { deviceId: args.deviceId })
        .catch(hintNotFound(NOT_FOUND_HINT));
      return { data: session, text: sessionText(session, ctx.now()) };
    },
  },
  {
    group: 'easycard',
    verb: 'signon',
    args: ['deviceId'],
    options: {
      force: {
        type: 'boolean',
        description:
          'sign on even when the reader holds a valid sign-on that is not due for renewal',
      },
    },
    summary: 'sign a reader on now (SignOn to intella), and show the session after it',
    run: async (ctx, { args, options }) => {
      // A SignOn may retry inside (the intella Retry rule): give it more than one request's time.
      const reply = await ctx.bus
        .request<SignOnReply>(
          SUBJECTS.easycard.signon,
          { deviceId: args.deviceId, ...(options.force === true ? { force: true } : {}) },
          ctx.bus.longTimeout(60_000),
        )
        .catch(hintNotFound(NOT_FOUND_HINT));
      const headline = !reply.attempted
        ? `${reply.deviceId} is signed on and not due for renewal; nothing sent (--force signs on anyway)`
        : reply.outcome === 'SUCCESS'
          ? `${reply.deviceId} signed on`
          : `${reply.deviceId}: SignOn ${reply.outcome ?? 'failed'}${reply.reason ? ` (${reply.reason})` : ''}`;
      const text = `${headline}\n\n${sessionText(reply.session, ctx.now())}`;
      const failed = reply.attempted && reply.outcome !== null && reply.outcome !== 'SUCCESS';
      return {
        data: reply,
        text,
        failure: failed
          ? {
              code: reply.reason ?? reply.outcome ?? 'SIGNON_FAILED',
              message: `SignOn of ${reply.deviceId} did not succeed`,
            }
          : undefined,
      };
    },
  },
  {
    group: 'easycard',
    verb: 'register',
    args: ['deviceIds'],
    options: {
      merchant: {
        type: 'string',
        description:
          'the MchId the readers belong to (required when several merchants are configured)',
      },
    },
    summary: 'register readers by DeviceId (comma-separated); the service signs each on',
    help: [
      'Adds readers that DeviceQuery does not list (discovery adds the listed ones by itself). Registering a reader',
      'again under the same merchant changes nothing; under another merchant it is refused (READER_CONFLICT).',
      '',
      'example: tillbus easycard register 01300001,01300002 --merchant ACCOUNT001',
    ].join('\n'),
    run: async (ctx, { args, options }) => {
      const deviceIds = args.deviceIds.split(',').map((id) => id.trim());
      if (deviceIds.some((id) => !READER_ID.test(id))) {
        throw new UsageError(
          '<deviceIds> must be reader ids (1-64 of A-Z a-z 0-9 _ -), comma-separated',
        );
      }
      const mchId = typeof options.merchant === 'string' ? options.merchant : undefined;
      const sessions: SessionView[] = [];
      for (const deviceId of [...new Set(deviceIds)]) {
        sessions.push(
          await ctx.bus.request<SessionView>(SUBJECTS.easycard.readersRegister, {
            deviceId,
            ...(mchId === undefined ? {} : { mchId }),
          }),
        );
      }
      const text = [
        table(sessions, [
          { header: 'READER', value: (s) => s.deviceId },
          { header: 'MERCHANT', value: (s) => s.mchId },
          { header: 'STATE', value: (s) => s.state },
          { header: 'SOURCE', value: (s) => s.source },
          { header: 'REGISTERED', value: (s) => s.registeredAt },
        ]),
        '',
        `${sessions.length} reader(s) registered; easycard-session signs each on (\`tillbus easycard sessions\`)`,
      ].join('\n');
      return { data: { sessions }, text };
    },
  },
];

/** From the service's own clock (secondsUntilExpiry), which may run faster than ours in a demo or a test. */
function expiryText(s: SessionView, now: number): string {
  if (s.secondsUntilExpiry !== null) {
    return s.secondsUntilExpiry > 0
      ? `in ${duration(s.secondsUntilExpiry * 1000)}`
      : `${duration(-s.secondsUntilExpiry * 1000)} ago`;
  }
  return s.expiresAt ? relative(s.expiresAt, now) : '-';
}

function problemText(s: SessionView, now: number): string {
  if (s.inFlight) return `${s.inFlight} in progress`;
  if (!s.failure) return '';
  const retry = s.failure.needsOperator
    ? 'needs an operator'
    : s.failure.retryAt
      ? `retry ${relative(s.failure.retryAt, now)}`
      : '';
  return `${s.failure.operation} ${s.failure.reason}${retry ? `, ${retry}` : ''}`;
}

function sessionText(s: SessionView, now: number): string {
  return block([
    ['reader', s.deviceId],
    ['merchant', s.mchId],
    ['state', `${s.state}${s.usable ? ' (usable)' : ' (NOT usable)'}`],
    ['signed on', s.signedAt ? `${s.signedAt} (${relative(s.signedAt, now)})` : '-'],
    ['expires', s.expiresAt ? `${s.expiresAt} (${expiryText(s, now)})` : '-'],
    ['sign-ons', `${s.signOns} (${s.renewals} renewals)`],
    [
      'reader ids',
      [s.reader.deviceID, s.reader.newDeviceId, s.reader.dongleDeviceId]
        .filter(Boolean)
        .join(' / ') || '-',
    ],
    [
      'session key',
      s.hasKey
        ? 'held, encrypted at rest (released only on tillbus.easycard.session.key.<deviceId>)'
        : 'none',
    ],
    ['in progress', s.inFlight ?? '-'],
    ['last failure', s.failure ? problemText(s, now) : '-'],
    [
      'settlement',
      s.settlement.lastSettledAt
        ? `last ${relative(s.settlement.lastSettledAt, now)}`
        : s.settlement.lastAttempt
          ? `last attempt ${s.settlement.lastAttempt.outcome} ${s.settlement.lastAttempt.reason}`
          : 'none yet',
    ],
  ]);
}
