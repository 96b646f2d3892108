import { type EdcCommandView, SUBJECTS } from '@tillbus/contracts';
import type { CommandSpec } from '../cli';
import { CliError, EXIT } from '../errors';
import { parseCount } from './common';
import { acquirerInfo, currencyOf, digits, newRequestId, requestIdOf, waitOf } from './edc-args';
import { deviceOfRequest, notFoundHint, runAndFollow } from './edc-run';
import { failureOf, viewText } from './edc-text';

const WAIT_OPTION = {
  type: 'string' as const,
  description: 'how long to follow the command before giving up watching, e.g. 180s (default 200s)',
};

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
