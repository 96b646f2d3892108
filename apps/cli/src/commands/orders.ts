import { randomUUID } from 'node:crypto';
import {
  EVENT_SUBJECTS,
  orderSubjectToken,
  SUBJECTS,
  type OrderView,
  type RedeliverResult,
  type StuckReport,
} from '@tillbus/messaging/contract';
import { isPosLifecycleKind, POS_LIFECYCLE_KINDS } from '@tillbus/result-codes';
import type { CommandSpec } from '../cli';
import { hintNotFound, parseCount, parseDuration } from './common';
import { CliError, EXIT, UsageError } from '../errors';
import { duration, relative, table } from '../format';
import { orderText } from './order-text';

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
                      (u) => `${u.orderStatus} ${u.deliveryStatus} (${u.attempts} attempts)`,
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
    },
    summary: `report an order's progress as the POS would: ${Object.keys(POS_LIFECYCLE_KINDS).join(', ')}`,
    help:
      'Publishes a POS lifecycle event on JetStream (tillbus.events.orders.<kind>.<order token>), the way a POS\n' +
      'integration does; order-reconciliation applies it and notifies D-Store. For demos and tests.',
    run: async (ctx, { args, options }) => {
      const kind = args.kind.toLowerCase();
      if (!isPosLifecycleKind(kind)) {
        throw new UsageError(
          `<kind> must be one of ${Object.keys(POS_LIFECYCLE_KINDS).join(', ')}`,
        );
      }
      const eventId =
        typeof options['event-id'] === 'string' ? options['event-id'] : `cli-${randomUUID()}`;
      const event = {
        requestOrderId: args.requestOrderId,
        eventId,
        occurredAt: new Date(ctx.now()).toISOString(),
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
      const status = POS_LIFECYCLE_KINDS[kind];
      return {
        data: { subject, event, stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate },
        text: `${ack.duplicate ? 'already published' : 'published'} ${kind} for ${args.requestOrderId} (stream ${ack.stream} #${ack.seq}); the order moves to ${status} and D-Store is notified: \`tillbus orders get ${args.requestOrderId}\``,
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
        ? `notification ${result.requestId} (${result.orderStatus}) queued again: ${result.deliveryStatus}. \`tillbus orders get ${result.requestOrderId}\` shows its delivery.`
        : `notification ${result.requestId} (${result.orderStatus}) was already queued (${result.deliveryStatus}); its delivery was nudged.`;
      return { data: result, text };
    },
  },
];
