import { bridgeMessageId } from '@tillbus/protocols-kicc';
import { canonical, fail, pass, type CertifyContext, type CheckOutcome } from './certifier';
import { ackStatus } from './flows';
import { summary } from './protocol-checks';
import type { Seen, StoredMessage } from './session';

/** After the stream is back: a publish in flight may wait out its own PubAck timeout before the retry. */
const STORED_AFTER_OUTAGE_MS = 15_000;

/** Events and results on the wire, grouped by requestId, in arrival order. */
function byRequest(ctx: CertifyContext): Map<string, Seen[]> {
  const groups = new Map<string, Seen[]>();
  for (const seen of ctx.session.seen) {
    if (seen.kind !== 'events' || typeof seen.raw?.requestId !== 'string') continue;
    const list = groups.get(seen.raw.requestId) ?? [];
    list.push(seen);
    groups.set(seen.raw.requestId, list);
  }
  return groups;
}

/**
 * §6: seq starts at 1 for each requestId and counts its events and its result together, published in seq order;
 * the result has the highest seq. A message sent again (a retry, a replay) may repeat an earlier seq.
 */
export function seqCheck(ctx: CertifyContext): CheckOutcome {
  const problems: string[] = [];
  let commands = 0;
  for (const [requestId, messages] of byRequest(ctx)) {
    commands += 1;
    let highest = 0;
    for (const seen of messages) {
      const seq = seen.raw?.seq;
      if (typeof seq !== 'number') continue;
      if (seq > highest + 1) {
        problems.push(`${requestId}: seq ${seq} came after ${highest}`);
        break;
      }
      highest = Math.max(highest, seq);
    }
    const result = messages.find((s) => s.raw?.type === 'result');
    if (result && result.raw?.seq !== highest) {
      problems.push(
        `${requestId}: the result has seq ${String(result.raw?.seq)}, not the highest (${highest})`,
      );
    }
  }
  if (problems.length > 0) return fail(summary(problems));
  return pass(`${commands} commands: seq from 1, in order, the result last`);
}

/**
 * §4 step 7: every event and result is a JetStream publish (a PubAck is asked for) with `Nats-Msg-Id` of its
 * deviceId, requestId and seq, and the stream holds each of them once.
 */
export async function streamCheck(ctx: CertifyContext): Promise<CheckOutcome> {
  const problems: string[] = [];
  const wire = ctx.session.seen.filter((s) => s.kind === 'events' && s.raw);
  for (const seen of wire) {
    const expected = bridgeMessageId(
      ctx.session.deviceId,
      String(seen.raw!.requestId),
      Number(seen.raw!.seq),
    );
    if (!seen.wantsPubAck) problems.push(`${label(seen)}: published without asking for a PubAck`);
    else if (seen.msgId !== expected) {
      problems.push(
        `${label(seen)}: Nats-Msg-Id ${JSON.stringify(seen.msgId ?? null)}, not ${expected}`,
      );
    }
  }
  if (problems.length > 0) return fail(summary(problems));
  let stored: StoredMessage[];
  try {
    stored = await ctx.session.stored();
  } catch (error) {
    return fail(`cannot read the stream TILLBUS_EDC_BRIDGE: ${(error as Error).message}`);
  }
  const storedIds = new Set(stored.map((s) => s.msgId));
  const missing = [...new Set(wire.map((s) => s.msgId))].filter((id) => !storedIds.has(id));
  if (missing.length > 0)
    return fail(summary(missing.map((id) => `${String(id)}: not in the stream`)));
  return pass(
    `${wire.length} publishes with PubAck and Nats-Msg-Id; the stream holds all ${storedIds.size}`,
  );
}

/** §7: one result per command; a repeated (requestId, seq) is the same message; the stream stores it once. */
export async function duplicatesCheck(ctx: CertifyContext): Promise<CheckOutcome> {
  const problems: string[] = [];
  for (const [requestId, messages] of byRequest(ctx)) {
    const results = new Set(
      messages.filter((s) => s.raw?.type === 'result').map((s) => String(s.raw?.seq)),
    );
    if (results.size > 1)
      problems.push(`${requestId}: ${results.size} results (seq ${[...results].join(', ')})`);
    const bySeq = new Map<string, string>();
    for (const seen of messages) {
      const seq = String(seen.raw?.seq);
      const text = canonical(seen.raw);
      if (bySeq.has(seq) && bySeq.get(seq) !== text) {
        problems.push(`${requestId}: two different messages with seq ${seq}`);
      }
      bySeq.set(seq, text);
    }
  }
  if (problems.length > 0) return fail(summary(problems));
  let stored: StoredMessage[];
  try {
    stored = await ctx.session.stored();
  } catch (error) {
    return fail(`cannot read the stream TILLBUS_EDC_BRIDGE: ${(error as Error).message}`);
  }
  const counts = new Map<string, number>();
  for (const message of stored) {
    const key = `${String(message.requestId)}:${String(message.seq)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const twice = [...counts].filter(([, n]) => n > 1).map(([key]) => `${key} stored twice`);
  if (twice.length > 0) return fail(summary(twice));
  return pass(`one result per command; ${stored.length} stored messages, none twice`);
}

/** §4: the bridge does not time commands out itself; each result came within the SDK's timeout. */
export function vendorTimeoutCheck(ctx: CertifyContext): CheckOutcome {
  const late = ctx.resultWaits.filter((w) => w.ms === null || w.ms > w.limitMs);
  if (late.length > 0) {
    return fail(
      summary(late.map((w) => `${w.commandName} ${w.requestId}: no result within ${w.limitMs} ms`)),
    );
  }
  if (ctx.resultWaits.length === 0) return fail('no command ran to its result');
  return pass(
    `${ctx.resultWaits.length} results, each within its SDK timeout (${ctx.resultWaits.map((w) => `${w.commandName} ${w.ms} ms`).join(', ')})`,
  );
}

/**
 * §4 step 7, the optional outage step: while the stream is away the bridge's publishes get no PubAck; it must keep
 * the result in its outbox and publish it again until the stream stores it.
 */
export async function outboxResendCheck(ctx: CertifyContext): Promise<CheckOutcome> {
  if (!ctx.options.outage) {
    return {
      status: 'SKIP',
      evidence:
        'optional: run with --outage and take the stream away when asked (docs/bridge-protocol.md, "Certify your bridge")',
    };
  }
  const { session } = ctx;
  await ctx.operator.outage('down', 60_000);
  if (!(await waitForStream(ctx, false)))
    return fail('the stream stayed available for 60 s: the outage step did not happen');
  const requestId = ctx.requestId('outage');
  const sent = await session.send({
    requestId,
    commandName: 'GetLastTransaction',
    params: {},
    notAfter: ctx.now() + 10_000,
  });
  if (ackStatus(sent) !== 'accepted')
    return fail(`GetLastTransaction ${requestId}: ack ${ackStatus(sent)}`);
  const tried = await session.until(
    () => session.traffic(requestId).some((s) => s.raw?.type === 'result'),
    ctx.options.vendorTimeoutMs('GetLastTransaction', {}) + 5000,
  );
  if (!tried)
    return fail('the bridge did not even try to publish its result while the stream was away');
  await ctx.operator.outage('up', 60_000);
  if (!(await waitForStream(ctx, true))) return fail('the stream did not come back within 60 s');
  const result = session.traffic(requestId).find((s) => s.raw?.type === 'result')!;
  const deadline = ctx.now() + STORED_AFTER_OUTAGE_MS;
  while (ctx.now() < deadline) {
    const stored = await session.stored().catch(() => []);
    if (stored.some((m) => m.requestId === requestId && m.type === 'result')) {
      const attempts = session.traffic(requestId).filter((s) => s.raw?.seq === result.raw?.seq);
      return pass(
        `the result of ${requestId} was published ${attempts.length} times and stored once the stream was back`,
      );
    }
    await ctx.settle(1000);
  }
  return fail(
    `the result of ${requestId} never reached the stream after it came back (no resend from the outbox)`,
  );
}

async function waitForStream(ctx: CertifyContext, available: boolean): Promise<boolean> {
  const deadline = ctx.now() + 60_000;
  const tick = ctx.countdown(available ? 'the stream to come back' : 'the stream to go away');
  while (ctx.now() < deadline) {
    if ((await ctx.session.streamAvailable()) === available) return true;
    tick(deadline - ctx.now());
    await ctx.settle(500);
  }
  return false;
}

function label(seen: Seen): string {
  return `${String(seen.raw?.type)} ${String(seen.raw?.requestId)} seq ${String(seen.raw?.seq)}`;
}
