import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import {
  EVENT_SUBJECTS,
  isPosChangeKind,
  orderSubjectToken,
  type OrderView,
  POS_CHANGE_KINDS,
  type PosChangeKind,
  type RedeliverResult,
  type StuckReport,
  SUBJECTS,
} from '@tillbus/contracts';
import { isPosLifecycleKind, POS_LIFECYCLE_KINDS } from '@tillbus/result-codes';
import type { CommandSpec } from '../cli';
import { hintNotFound, parseCount, parseDuration } from './common';
import { CliError, EXIT, UsageError } from '../errors';
import { duration, relative, table } from '../format';
import { changeText, orderText } from './order-text';

const NOT_FOUND_HINT =
  '`tillbus orders stuck` lists orders that need a look; D-Store order ids look like the requestOrderId of createOrder';

export const ORDER_COMMANDS: CommandSpec[] = [
  {
    group: 'orders',
    verb: 'get',
    args: ['requestOrderId'],
    summary:
      'one D-Store order: pickup time, customer and address, status, D-Store’s changes (delivery, items, refunds), notifications',
    run: async (ctx, { args }) => {
      const order = await ctx.bus
        .request<OrderView>(SUBJECTS.orderReconciliation.get, {
          requestOrderId: args.requestOrderId,
        })
        .catch(hintNotFound(NOT_FOUND_HINT));
      const text = orderText(order, ctx.now());
      return { data: order, text };
    },
  },
  {
    group: 'orders',
    verb: 'stuck',
    args: [],
    options: {
      'older-than': {
        type: 'string',
        description:
          'count non-final orders created this long ago as stuck: 90s, 15m, 2h (default: the service setting)',
      },
      limit: { type: 'string', description: 'at most this many orders (default 100)' },
    },
    summary: 'orders that are not final after a while, or whose notification D-Store has not got',
    run: async (ctx, { options }) => {
      const payload: Record<string, number> = {};
      if (typeof options['older-than'] === 'string')
        payload.olderThanMs = parseDuration(options['older-than'], '--older-than');
      if (typeof options.limit === 'string')
        payload.limit = parseCount(options.limit, '--limit', 1, 1000);
      const report = await ctx.bus.request<StuckReport>(
        SUBJECTS.orderReconciliation.stuck,
        payload,
      );
      const now = ctx.now();
      const heading = `${report.orders.length} stuck of ${report.scanned} orders (not final after ${duration(report.olderThanMs)}, or undelivered)${report.truncated ? '; more not shown (--limit)' : ''}`;
      const text =
        report.orders.length === 0
          ? `${heading}\nnothing stuck`
          : [
              heading,
              table(report.orders, [
                { header: 'ORDER', value: (o) => o.requestOrderId },
                { header: 'STATUS', value: (o) => o.status },
                { header: 'WHY', value: (o) => o.reasons },
                { header: 'CREATED', value: (o) => relative(o.createdAt, now) },
                {
                  header: 'UNDELIVERED',
                  value: (o) =>
                    o.undelivered.map(
                      (u) =>
                        `${u.orderStatus ?? (u.change ? changeText(u.change) : '')} ${u.deliveryStatus} (${u.attempts} attempts)`,
                    ),
                },
              ]),
              '',
              'redeliver a dead-lettered notification: tillbus orders redeliver <order>',
            ].join('\n');
      return { data: report, text };
    },
  },
  {
    group: 'orders',
    verb: 'pos-event',
    args: ['requestOrderId', 'kind'],
    options: {
      'event-id': {
        type: 'string',
        description: 'the POS event id (default: a new one); the same id is applied once',
      },
      'short-order-number': {
        type: 'string',
        description: 'short-order-number: the code the buyer shows at the counter',
      },
      'ready-time': {
        type: 'string',
        description: 'ready-time: when the order will be ready, ISO 8601 with a zone',
      },
      amount: {
        type: 'string',
        description: "refund: the amount in the currency's smallest unit (250 is 2.50 SGD)",
      },
      currency: { type: 'string', description: 'refund: ISO 4217 code, the order’s currency' },
      reason: { type: 'string', description: 'refund: why, for the order’s history' },
      'delivery-status': {
        type: 'string',
        description: 'delivery-status: D-Store’s code, e.g. DELIVERING (merchant-delivered orders)',
      },
      'requested-by': {
        type: 'string',
        description: 'who asks for the change (default: cli:<your user name>); required on refunds',
      },
    },
    summary: `report an order's progress as the POS would: ${[...Object.keys(POS_LIFECYCLE_KINDS), ...Object.keys(POS_CHANGE_KINDS)].join(', ')}`,
    help:
      'Publishes a POS event on JetStream (tillbus.events.orders.<kind>.<order token>), the way a POS\n' +
      'integration does; order-reconciliation applies it and notifies D-Store. For demos and tests.\n' +
      'Statuses: accepted ... failed. Changes: short-order-number --short-order-number A17;\n' +
      'ready-time --ready-time 2026-12-07T12:45:00+08:00; refund --amount 250 --currency SGD [--reason ...];\n' +
      'delivery-status --delivery-status DELIVERING.',
    run: async (ctx, { args, options }) => {
      const kind = args.kind.toLowerCase();
      if (!isPosLifecycleKind(kind) && !isPosChangeKind(kind)) {
        throw new UsageError(
          `<kind> must be one of ${[...Object.keys(POS_LIFECYCLE_KINDS), ...Object.keys(POS_CHANGE_KINDS)].join(', ')}`,
        );
      }
      const eventId =
        typeof options['event-id'] === 'string' ? options['event-id'] : `cli-${randomUUID()}`;
      const event = {
        requestOrderId: args.requestOrderId,
        eventId,
        occurredAt: new Date(ctx.now()).toISOString(),
        ...(isPosChangeKind(kind) ? changeFields(kind, options) : {}),
      };
      const subject = EVENT_SUBJECTS.order(kind, orderSubjectToken(args.requestOrderId));
      const ack = await ctx.bus
        .publishEvent(subject, event, {
          messageId: eventId,
          timeoutMs: ctx.bus.options.timeoutMs,
        })
        .catch((error: unknown) => {
          throw new CliError(
            'UNAVAILABLE',
            `the event was not stored: ${(error as Error).message}`,
            EXIT.unreachable,
            'is order-reconciliation running? It creates the TILLBUS_ORDERS stream at start',
          );
        });
      const effect = isPosLifecycleKind(kind)
        ? `the order moves to ${POS_LIFECYCLE_KINDS[kind]}`
        : 'the change is checked and recorded';
      return {
        data: { subject, event, stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate },
        text: `${ack.duplicate ? 'already published' : 'published'} ${kind} for ${args.requestOrderId} (stream ${ack.stream} #${ack.seq}); ${effect} and D-Store is notified: \`tillbus orders get ${args.requestOrderId}\``,
      };
    },
  },
  {
    group: 'orders',
    verb: 'redeliver',
    args: ['requestOrderId'],
    options: {
      'request-id': {
        type: 'string',
        description:
          "which notification (default: the order's latest dead-lettered or finally failed one)",
      },
    },
    summary: 'send a dead-lettered notifyOrderChange to D-Store again',
    run: async (ctx, { args, options }) => {
      const result = await ctx.bus
        .request<RedeliverResult>(SUBJECTS.orderReconciliation.redeliver, {
          requestOrderId: args.requestOrderId,
          ...(typeof options['request-id'] === 'string'
            ? { requestId: options['request-id'] }
            : {}),
        })
        .catch(hintNotFound(NOT_FOUND_HINT));
      const text = result.requeued
        ? `notification ${result.requestId} (${result.orderStatus ?? (result.change ? changeText(result.change) : '')}) queued again: ${result.deliveryStatus}. \`tillbus orders get ${result.requestOrderId}\` shows its delivery.`
        : `notification ${result.requestId} (${result.orderStatus ?? (result.change ? changeText(result.change) : '')}) was already queued (${result.deliveryStatus}); its delivery was nudged.`;
      return { data: result, text };
    },
  },
];

/** The body fields of a change event, from the command's options; the service validates them strictly. */
export function changeFields(
  kind: PosChangeKind,
  options: Record<string, unknown>,
): Record<string, unknown> {
  const text = (name: string): string => {
    const value = options[name];
    if (typeof value !== 'string' || value === '') throw new UsageError(`${kind} needs --${name}`);
    return value;
  };
  const requestedBy =
    typeof options['requested-by'] === 'string' ? options['requested-by'] : `cli:${safeUserName()}`;
  switch (kind) {
    case 'short-order-number':
      return { shortOrderNumber: text('short-order-number'), requestedBy };
    case 'ready-time':
      return { readyTime: text('ready-time'), requestedBy };
    case 'delivery-status':
      return { deliveryStatus: text('delivery-status'), requestedBy };
    case 'refund': {
      const amount = text('amount');
      if (!/^[1-9][0-9]{0,9}$/.test(amount))
        throw new UsageError(
          "--amount is a whole number in the currency's smallest unit (250 is 2.50 SGD)",
        );
      return {
        refundAmount: { value: Number(amount), currency: text('currency').toUpperCase() },
        requestedBy,
        ...(typeof options.reason === 'string' ? { reason: options.reason } : {}),
      };
    }
  }
}

function safeUserName(): string {
  try {
    return (
      userInfo()
        .username.replace(/[^\x21-\x7e]/g, '_')
        .slice(0, 120) || 'unknown'
    );
  } catch {
    return 'unknown';
  }
}
