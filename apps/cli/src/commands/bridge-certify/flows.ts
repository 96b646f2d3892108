import { KiccProtocolError, parseKiccCommandResponse } from '@tillbus/protocols-kicc';
import type { KiccCommandName } from '@tillbus/result-codes';
import {
  bodyOf,
  fail,
  pass,
  type CertifyContext,
  type CheckOutcome,
  type SucceededPurchase,
} from './certifier';
import type { Seen, SentCommand } from './session';

/**
 * The command flows of docs/bridge-protocol.md §3-§7, each driven as edc-command drives it. Amounts are chosen to
 * avoid the simulator's failure table (900-961 KRW) and to fall on either side of the signature threshold.
 */
export const PLAIN_AMOUNT = '1004';
export const SIGNED_AMOUNT = '60000';
const ACQUIRER = { acquirerTerminalId: '0788888', acquirerRegistrationNo: '0216001234' };
/** A card read by a person can take a while; the device's own wait is paymentExpiryTime. */
const CARD_WAIT_S = 60;

export function purchaseParams(requestId: string, amount: string): Record<string, unknown> {
  return {
    requestId,
    paymentAmount: { value: amount, currency: 'KRW' },
    tipAmount: { value: '0', currency: 'KRW' },
    creditPayPlan: { installmentNum: '0' },
    paymentExpiryTime: String(CARD_WAIT_S),
    acquirerInfo: ACQUIRER,
  };
}

/** Sends a command with a notAfter past its vendor timeout and returns the ack's status ('' when none). */
export async function sendCommand(
  ctx: CertifyContext,
  commandName: KiccCommandName,
  requestId: string,
  params: Record<string, unknown>,
  extra: { targetRequestId?: string; recoveryOf?: string; notAfter?: number } = {},
): Promise<{ sent: SentCommand; status: string }> {
  const sent = await ctx.session.send({
    requestId,
    commandName,
    params,
    notAfter: extra.notAfter ?? ctx.now() + 10_000,
    targetRequestId: extra.targetRequestId,
    recoveryOf: extra.recoveryOf,
  });
  return { sent, status: ackStatus(sent) };
}

export function ackStatus(sent: SentCommand): string {
  const status = (sent.ack?.raw?.body as { status?: unknown } | undefined)?.status;
  return typeof status === 'string' ? status : sent.noAck ? `no ack (${sent.noAck})` : 'no status';
}

/** The phase events of a command, in arrival order, first time each. */
export function phases(ctx: CertifyContext, requestId: string): string[] {
  const codes: string[] = [];
  for (const seen of ctx.session.traffic(requestId)) {
    const code = bodyOf(seen).code;
    if (seen.raw?.type === 'event' && typeof code === 'string' && !codes.includes(code))
      codes.push(code);
  }
  return codes;
}

/** The result's callback and a reading of its responseData by the reference codec; a problem as text. */
export function readResult(
  result: Seen,
  commandName: KiccCommandName,
  requestId: string,
): { responseData?: Record<string, unknown>; problem?: string } {
  const body = bodyOf(result);
  if (result.raw?.commandName !== commandName) {
    return {
      problem: `the result is tagged ${String(result.raw?.commandName)}, not ${commandName}`,
    };
  }
  if (body.callback !== 'onSuccess') {
    const failure = body.failure as { code?: unknown } | undefined;
    return { problem: `${String(body.callback)} ${String(failure?.code ?? '')}`.trim() };
  }
  try {
    parseKiccCommandResponse(commandName, body.responseData);
  } catch (error) {
    const detail = error instanceof KiccProtocolError ? error.message : String(error);
    return { problem: `its responseData does not match the seed: ${detail}` };
  }
  const responseData = body.responseData as Record<string, unknown>;
  const echoed = responseData.requestId;
  if (commandName !== 'GetLastTransaction' && echoed !== requestId) {
    return { problem: 'responseData.requestId is not the command requestId' };
  }
  return { responseData };
}

/** Purchase, with or without the signature step. */
export async function purchaseFlow(ctx: CertifyContext, signed: boolean): Promise<CheckOutcome> {
  const amount = signed ? SIGNED_AMOUNT : PLAIN_AMOUNT;
  const requestId = ctx.requestId(signed ? 'signed' : 'purchase');
  const params = purchaseParams(requestId, amount);
  await ctx.operator.terminal(signed ? 'card-and-sign' : 'card', CARD_WAIT_S * 1000);
  const { status } = await sendCommand(ctx, 'Purchase', requestId, params);
  if (status !== 'accepted') return fail(`Purchase ${requestId}: ack ${status}, not accepted`);
  const result = await ctx.result(requestId, 'Purchase', params, 'the card and the result');
  await ctx.operator.terminal('done', 0);
  const seenPhases = phases(ctx, requestId);
  if (!result) return fail(`Purchase ${requestId}: no result; events ${seenPhases.join(' > ')}`);
  const read = readResult(result, 'Purchase', requestId);
  if (read.problem) return fail(`Purchase ${requestId}: ${read.problem}`);
  const expected = ['READY', 'CARD_READ_COMPLETED', ...(signed ? ['PENDING_SIGNATURE'] : [])];
  expected.push('START_TRANSACTION');
  const order = seenPhases.filter((code) => expected.includes(code));
  if (order.join() !== expected.join()) {
    return fail(
      `Purchase of ${amount} KRW: events ${seenPhases.join(' > ') || 'none'}; expected ${expected.join(' > ')} in this order`,
    );
  }
  const purchase: SucceededPurchase = { requestId, responseData: read.responseData! };
  ctx.purchases.push(purchase);
  return pass(`Purchase of ${amount} KRW ${requestId}: ${seenPhases.join(' > ')} > onSuccess`);
}

export async function purchaseCancelFlow(ctx: CertifyContext): Promise<CheckOutcome> {
  const purchase = ctx.purchases.at(-1);
  if (!purchase) return fail('no Purchase succeeded earlier, so there is nothing to cancel');
  const data = purchase.responseData as {
    paymentAmount: unknown;
    tipAmount: unknown;
    creditPayPlan: unknown;
    acquirerInfo: Record<string, unknown>;
  };
  const requestId = ctx.requestId('refund');
  const params = {
    requestId,
    paymentAmount: data.paymentAmount,
    tipAmount: data.tipAmount,
    creditPayPlan: data.creditPayPlan,
    acquirerInfo: { ...ACQUIRER, acquirerMetaData: data.acquirerInfo.acquirerMetaData },
  };
  const { status } = await sendCommand(ctx, 'PurchaseCancel', requestId, params);
  if (status !== 'accepted') return fail(`PurchaseCancel ${requestId}: ack ${status}`);
  const result = await ctx.result(requestId, 'PurchaseCancel', params, 'the cancel result');
  if (!result) return fail(`PurchaseCancel ${requestId}: no result`);
  const read = readResult(result, 'PurchaseCancel', requestId);
  if (read.problem) return fail(`PurchaseCancel ${requestId}: ${read.problem}`);
  ctx.lastCancel = { requestId };
  return pass(`PurchaseCancel ${requestId} of Purchase ${purchase.requestId}: onSuccess`);
}

export async function lastTransactionFlow(ctx: CertifyContext): Promise<CheckOutcome> {
  const requestId = ctx.requestId('last');
  const recoveryOf = ctx.lastCancel?.requestId;
  const { status } = await sendCommand(
    ctx,
    'GetLastTransaction',
    requestId,
    {},
    recoveryOf ? { recoveryOf } : {},
  );
  if (status !== 'accepted') return fail(`GetLastTransaction ${requestId}: ack ${status}`);
  const result = await ctx.result(requestId, 'GetLastTransaction', {}, 'the answer');
  if (!result) return fail(`GetLastTransaction ${requestId}: no result`);
  const read = readResult(result, 'GetLastTransaction', requestId);
  if (read.problem) return fail(`GetLastTransaction ${requestId}: ${read.problem}`);
  const data = read.responseData!;
  if (ctx.lastCancel && data.responseCommand !== 'PurchaseCancel') {
    return fail(
      `the last transaction was PurchaseCancel ${ctx.lastCancel.requestId}; the answer is a ${String(data.responseCommand)}`,
    );
  }
  if (
    ctx.lastCancel &&
    data.requestId !== undefined &&
    data.requestId !== ctx.lastCancel.requestId
  ) {
    return fail('the answer names another requestId than the last transaction');
  }
  const withId =
    data.requestId !== undefined ? 'with its requestId' : 'without requestId (§7 asks for it)';
  return pass(`GetLastTransaction ${requestId}: a ${String(data.responseCommand)}, ${withId}`);
}

/** A Purchase waiting at READY: a person holds the card back (the simulator holds the device there). */
export async function heldPurchase(
  ctx: CertifyContext,
  what: string,
): Promise<{ requestId: string; problem?: string }> {
  const requestId = ctx.requestId(what);
  await ctx.operator.terminal('no-card', CARD_WAIT_S * 1000);
  const { status } = await sendCommand(
    ctx,
    'Purchase',
    requestId,
    purchaseParams(requestId, PLAIN_AMOUNT),
  );
  if (status !== 'accepted') return { requestId, problem: `Purchase ${requestId}: ack ${status}` };
  const ready = await ctx.event(requestId, 'READY', 10_000, 'READY');
  if (!ready) return { requestId, problem: `Purchase ${requestId}: no READY within 10 s` };
  return { requestId };
}

/** CommandCancel of `target`: its ack status and its result. */
export async function commandCancel(ctx: CertifyContext, targetRequestId: string) {
  const requestId = ctx.requestId('abort');
  const { status } = await sendCommand(ctx, 'CommandCancel', requestId, {}, { targetRequestId });
  const result =
    status === 'accepted'
      ? await ctx.result(requestId, 'CommandCancel', {}, 'the CommandCancel result')
      : null;
  return { requestId, status, result, callback: result ? bodyOf(result).callback : undefined };
}

export async function cancelBeforeCardReadFlow(ctx: CertifyContext): Promise<CheckOutcome> {
  const held = await heldPurchase(ctx, 'abortable');
  if (held.problem) {
    await ctx.operator.terminal('done', 0);
    return fail(held.problem);
  }
  const cancel = await commandCancel(ctx, held.requestId);
  await ctx.operator.terminal('done', 0);
  if (cancel.status !== 'accepted')
    return fail(`CommandCancel at READY: ack ${cancel.status}, not accepted`);
  if (cancel.callback !== 'onSuccess') {
    return fail(
      `CommandCancel at READY: result ${String(cancel.callback ?? 'none')}, not onSuccess`,
    );
  }
  await ctx.settle();
  const paid = ctx.session
    .traffic(held.requestId)
    .some((s) => s.raw?.type === 'result' && bodyOf(s).callback === 'onSuccess');
  if (paid) return fail(`the cancelled Purchase ${held.requestId} still succeeded`);
  return pass(`Purchase ${held.requestId} cancelled at READY: ack accepted, onSuccess`);
}

export async function cancelAfterCardReadFlow(ctx: CertifyContext): Promise<CheckOutcome> {
  const requestId = ctx.requestId('late-abort');
  const params = purchaseParams(requestId, PLAIN_AMOUNT);
  await ctx.operator.terminal('card-then-hold', CARD_WAIT_S * 1000);
  const { status } = await sendCommand(ctx, 'Purchase', requestId, params);
  if (status !== 'accepted') {
    await ctx.operator.terminal('done', 0);
    return fail(`Purchase ${requestId}: ack ${status}`);
  }
  const read = await ctx.event(
    requestId,
    'CARD_READ_COMPLETED',
    CARD_WAIT_S * 1000,
    'the card to be read',
  );
  if (!read) {
    await ctx.operator.terminal('done', 0);
    return fail(`Purchase ${requestId}: no CARD_READ_COMPLETED`);
  }
  const cancel = await commandCancel(ctx, requestId);
  await ctx.operator.terminal('done', 0);
  const result = await ctx.result(requestId, 'Purchase', params, 'the Purchase to finish');
  const refused =
    cancel.status === 'not_running' ||
    (cancel.status === 'accepted' && cancel.callback === 'onCommandFailed');
  if (!refused) {
    return fail(
      `CommandCancel after CARD_READ_COMPLETED: ack ${cancel.status}, result ${String(cancel.callback ?? 'none')}; it must be refused`,
    );
  }
  if (!result || bodyOf(result).callback !== 'onSuccess') {
    return fail(`the Purchase ${requestId} did not finish after the refused cancel`);
  }
  return pass(
    `CommandCancel after the card was read: ${cancel.status === 'accepted' ? 'onCommandFailed' : 'not_running'}; the Purchase succeeded`,
  );
}
