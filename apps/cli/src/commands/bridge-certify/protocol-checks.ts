import {
  BRIDGE_PROTOCOL_VERSION,
  BRIDGE_PROTOCOL_VERSIONS,
  HEARTBEAT_INTERVAL_MS,
  findCardData,
  type CardDataMode,
} from '@tillbus/protocols-kicc';
import { bodyOf, canonical, fail, pass, type CertifyContext, type CheckOutcome } from './certifier';
import {
  PLAIN_AMOUNT,
  ackStatus,
  commandCancel,
  heldPurchase,
  purchaseParams,
  sendCommand,
} from './flows';
import type { Seen } from './session';

/** Heartbeats may come late by this much over their interval (scheduling, the network). */
const CADENCE_TOLERANCE = 1.5;

/** The first heartbeat that names the device: which bridge drives it, and whether it is ready. */
export async function heartbeatDeviceCheck(ctx: CertifyContext): Promise<CheckOutcome> {
  const { session } = ctx;
  const beat = await session.until(
    () => session.heartbeats().find((s) => deviceEntry(s, session.deviceId)),
    ctx.options.heartbeatWaitMs,
    ctx.countdown('a heartbeat that names the device'),
  );
  if (!beat) {
    const others = session.heartbeats().length;
    return fail(
      `no heartbeat named ${session.deviceId} within ${ctx.options.heartbeatWaitMs / 1000} s` +
        (others > 0 ? ` (${others} heartbeats without it)` : ''),
    );
  }
  const body = bodyOf(beat);
  const entry = deviceEntry(beat, session.deviceId)!;
  ctx.bridgeId = typeof beat.raw?.bridgeId === 'string' ? beat.raw.bridgeId : null;
  ctx.intervalMs = typeof body.intervalMs === 'number' ? body.intervalMs : null;
  const init = (entry.init as { code?: unknown } | undefined)?.code;
  if (entry.provider !== 'KICC' || init !== 'INIT_SUCCESS') {
    return fail(
      `the device is listed with provider ${String(entry.provider)}, init ${String(init)}`,
    );
  }
  return pass(
    `bridge ${ctx.bridgeId} (app ${String(body.appVersion)}) drives ${session.deviceId}: init INIT_SUCCESS, interval ${ctx.intervalMs} ms`,
  );
}

function deviceEntry(seen: Seen, deviceId: string): Record<string, unknown> | undefined {
  const devices = bodyOf(seen).devices;
  if (!Array.isArray(devices)) return undefined;
  return devices.find((d) => (d as { deviceId?: unknown })?.deviceId === deviceId) as
    Record<string, unknown> | undefined;
}

/** Waits for a second heartbeat, so the run covers at least one interval; the cadence is judged at the end. */
export async function awaitSecondHeartbeat(ctx: CertifyContext): Promise<void> {
  const interval = ctx.intervalMs ?? HEARTBEAT_INTERVAL_MS.default;
  await ctx.session.until(
    () => ctx.session.heartbeats().length >= 2,
    interval * CADENCE_TOLERANCE + 1000,
  );
}

/** §5: every intervalMs (and on changes), seq +1 per heartbeat, startedAt constant within a process. */
export function heartbeatCadenceCheck(ctx: CertifyContext): CheckOutcome {
  const beats = ctx.session.heartbeats().filter((s) => s.raw?.bridgeId === ctx.bridgeId);
  if (beats.length < 2) return fail(`${beats.length} heartbeat(s) during the whole run`);
  const interval = ctx.intervalMs ?? HEARTBEAT_INTERVAL_MS.default;
  const allowed = interval * CADENCE_TOLERANCE;
  let longest = 0;
  for (let i = 1; i < beats.length; i++) {
    longest = Math.max(longest, beats[i].at - beats[i - 1].at);
    const seq = beats[i].raw?.seq;
    const previous = beats[i - 1].raw?.seq;
    const restarted = bodyOf(beats[i]).startedAt !== bodyOf(beats[i - 1]).startedAt;
    if (!restarted && seq !== (previous as number) + 1) {
      return fail(`heartbeat seq ${String(previous)} was followed by ${String(seq)}`);
    }
  }
  longest = Math.max(longest, ctx.now() - beats.at(-1)!.at);
  if (longest > allowed) {
    return fail(
      `${longest} ms without a heartbeat; it announces ${interval} ms (allowed ${allowed} ms)`,
    );
  }
  return pass(`${beats.length} heartbeats, at most ${longest} ms apart (interval ${interval} ms)`);
}

/** §8: the heartbeat lists the versions; a command of a version the bridge does not speak is refused. */
export async function versionCheck(ctx: CertifyContext): Promise<CheckOutcome> {
  const beat = ctx.session.heartbeats().at(-1);
  const versions = bodyOf(beat).protocolVersions;
  if (!Array.isArray(versions) || !versions.includes(BRIDGE_PROTOCOL_VERSION)) {
    return fail(`the heartbeat lists protocolVersions ${JSON.stringify(versions)}, without 1`);
  }
  const requestId = ctx.requestId('vnext');
  const future = Math.max(...BRIDGE_PROTOCOL_VERSIONS) + 1;
  const sent = await ctx.session.send({
    requestId,
    commandName: 'Purchase',
    params: {},
    notAfter: 0,
    raw: {
      v: future,
      type: 'command',
      deviceId: ctx.session.deviceId,
      requestId,
      commandName: 'Purchase',
      sentAt: ctx.now(),
      body: {
        commandRequestParams: purchaseParams(requestId, PLAIN_AMOUNT),
        notAfter: ctx.now() + 10_000,
      },
    },
  });
  const status = ackStatus(sent);
  await ctx.settle();
  const started = ctx.session.traffic(requestId).length;
  if (status !== 'invalid' || started > 0) {
    if (started > 0) {
      await ctx.session.until(
        () => ctx.session.traffic(requestId).some((s) => s.raw?.type === 'result'),
        10_000,
      );
    }
    return fail(
      `a v${future} command got ack ${status}${started > 0 ? ` and ran (${started} messages)` : ''}; it must be refused with invalid`,
    );
  }
  const detail = bodyOf(sent.ack).detail;
  if (typeof detail !== 'string' || !detail.includes(String(BRIDGE_PROTOCOL_VERSION))) {
    return fail(
      `v${future} refused, but its detail ${JSON.stringify(detail)} does not name the versions spoken`,
    );
  }
  return pass(
    `protocolVersions ${JSON.stringify(versions)}; a v${future} command: invalid, "${detail}"`,
  );
}

/** §4 step 2: a command received after notAfter is answered `expired` and never started. */
export async function notAfterCheck(ctx: CertifyContext): Promise<CheckOutcome> {
  const requestId = ctx.requestId('expired');
  const { status } = await sendCommand(
    ctx,
    'GetLastTransaction',
    requestId,
    {},
    {
      notAfter: ctx.now() - 60_000,
    },
  );
  await ctx.settle();
  const ran = ctx.session.traffic(requestId).length;
  if (status !== 'expired' || ran > 0) {
    return fail(
      `a command 60 s past its notAfter got ack ${status}${ran ? ` and ran (${ran} messages)` : ''}`,
    );
  }
  return pass('a command 60 s past its notAfter: expired, nothing ran');
}

/** §4 step 5: a second command while one runs is refused with busy and the running requestId. */
export async function busyCheck(ctx: CertifyContext): Promise<CheckOutcome> {
  const held = await heldPurchase(ctx, 'running');
  if (held.problem) {
    await ctx.operator.terminal('done', 0);
    return fail(held.problem);
  }
  const second = ctx.requestId('second');
  const { status, sent } = await sendCommand(
    ctx,
    'Purchase',
    second,
    purchaseParams(second, PLAIN_AMOUNT),
  );
  const running = bodyOf(sent.ack).runningRequestId;
  await commandCancel(ctx, held.requestId);
  await ctx.operator.terminal('done', 0);
  if (status !== 'busy')
    return fail(`a second Purchase while ${held.requestId} runs: ack ${status}`);
  if (running !== held.requestId) {
    return fail(`busy, but runningRequestId is ${JSON.stringify(running)}, not ${held.requestId}`);
  }
  return pass(`a second Purchase while ${held.requestId} runs: busy, runningRequestId named`);
}

/**
 * §7: the same command sent twice runs once. A resend gets `duplicate`, and what the bridge replays is what it
 * published the first time (the same seq, Nats-Msg-Id and content), nothing new.
 */
export async function resendCheck(ctx: CertifyContext): Promise<CheckOutcome> {
  const requestId = ctx.requestId('twice');
  const notAfter = ctx.now() + 10_000;
  const command = { requestId, commandName: 'GetLastTransaction' as const, params: {}, notAfter };
  const first = ackStatus(await ctx.session.send(command));
  if (first !== 'accepted') return fail(`GetLastTransaction ${requestId}: ack ${first}`);
  const result = await ctx.result(requestId, 'GetLastTransaction', {}, 'the answer');
  if (!result) return fail(`GetLastTransaction ${requestId}: no result, nothing to resend`);
  const before = ctx.session.traffic(requestId);
  const original = new Map(before.map((s) => [String(s.raw?.seq), canonical(s.raw)]));
  const second = ackStatus(await ctx.session.send(command));
  await ctx.settle(1500);
  const replayed = ctx.session.traffic(requestId).slice(before.length);
  const changed = replayed.filter((s) => original.get(String(s.raw?.seq)) !== canonical(s.raw));
  if (second !== 'duplicate')
    return fail(`the same command sent again: ack ${second}, not duplicate`);
  if (changed.length > 0) {
    return fail(
      `after the resend, ${changed.length} message(s) that differ from the first run (seq ${changed.map((s) => String(s.raw?.seq)).join(', ')}): it ran again`,
    );
  }
  if (replayed.length === 0) return fail('duplicate, but the stored result was not replayed (§7)');
  return pass(
    `the same command sent again: duplicate; ${replayed.length} message(s) replayed unchanged`,
  );
}

/** §2 and §9 rules over everything the bridge sent, acks and heartbeats included. */
export function envelopeCheck(ctx: CertifyContext): CheckOutcome {
  const problems: string[] = [];
  for (const seen of ctx.session.seen) {
    if (seen.error && !['TOO_LARGE', 'CARD_DATA_REFUSED'].includes(seen.error.code)) {
      problems.push(`${describe(seen)}: ${seen.error.code} ${seen.error.message}`);
    }
  }
  for (const sent of ctx.session.sent) {
    const ack = sent.ack?.raw;
    if (!ack || bodyOf(sent.ack).status === 'invalid') continue;
    if (ack.requestId !== sent.requestId || ack.commandName !== sent.commandName) {
      problems.push(
        `the ack of ${sent.requestId} names ${String(ack.requestId)} ${String(ack.commandName)}`,
      );
    }
  }
  if (problems.length > 0) return fail(summary(problems));
  return pass(
    `${ctx.session.seen.length} messages parsed by the reference codec, acks echo their command`,
  );
}

export function sizeCheck(ctx: CertifyContext): CheckOutcome {
  const limit = 256 * 1024;
  const over = ctx.session.seen.filter((s) => s.bytes > limit);
  const largest = Math.max(0, ...ctx.session.seen.map((s) => s.bytes));
  if (over.length > 0) {
    return fail(summary(over.map((s) => `${describe(s)}: ${s.bytes} bytes > ${limit}`)));
  }
  return pass(
    `the largest of ${ctx.session.seen.length} messages: ${largest} bytes (limit ${limit})`,
  );
}

/** §9: paths only, never the values. */
export function cardDataCheck(ctx: CertifyContext): CheckOutcome {
  const problems: string[] = [];
  for (const seen of ctx.session.seen) {
    if (!seen.raw) continue;
    const { body, ...head } = seen.raw;
    const mode: CardDataMode =
      seen.raw.type === 'event' ? 'event' : seen.raw.type === 'result' ? 'result' : 'envelope';
    const paths = [...findCardData(head, 'envelope'), ...findCardData(body, mode, 'body')];
    if (paths.length > 0) problems.push(`${describe(seen)}: ${paths.join(', ')}`);
  }
  if (problems.length > 0) return fail(`card data at ${summary(problems)}`);
  return pass(`no card data beyond the BIN in ${ctx.session.seen.length} messages`);
}

export function ackDeadlineCheck(ctx: CertifyContext): CheckOutcome {
  const deadline = 2000;
  const late = ctx.session.sent.filter((s) => s.ackMs === null || s.ackMs > deadline);
  const slowest = Math.max(0, ...ctx.session.sent.map((s) => s.ackMs ?? 0));
  if (late.length > 0) {
    return fail(
      summary(
        late.map((s) =>
          s.ackMs === null
            ? `${s.commandName} ${s.requestId}: no ack (${s.noAck})`
            : `${s.commandName} ${s.requestId}: ack after ${s.ackMs} ms`,
        ),
      ) + ` (deadline ${deadline} ms)`,
    );
  }
  return pass(
    `${ctx.session.sent.length} commands, every ack within ${slowest} ms (deadline ${deadline} ms)`,
  );
}

export function describe(seen: Seen): string {
  const raw = seen.raw;
  if (!raw) return `a ${seen.kind} message that is not a JSON object`;
  const seq = raw.seq !== undefined ? ` seq ${String(raw.seq)}` : '';
  return `${String(raw.type ?? seen.kind)} ${String(raw.requestId ?? raw.bridgeId ?? '')}${seq}`.trim();
}

export function summary(problems: string[]): string {
  return problems.length <= 3
    ? problems.join('; ')
    : `${problems.slice(0, 3).join('; ')}; and ${problems.length - 3} more`;
}
