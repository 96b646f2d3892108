import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { type EdcPublicEvent, STREAMS } from '@tillbus/contracts';
import type { CardLoad } from './card-load';

type Executed = { requestId: string; commandName: string; deviceId: string };

/** What one fault case did to the card load; every count is for this case's commands only. */
export interface Verdict {
  /** Commands the store holds (the POS had the accepting reply, or a submit it never heard back from took). */
  accepted: number;
  /** Accepted and never final, or accepted and then gone from the store, or run by a device with no record. */
  lost: string[];
  /** Purchases a device ran more than once. */
  doublePurchases: string[];
  /** Commands whose events on TILLBUS_EDC are not exactly seq 1..n (or a final one without its outcome event). */
  missingSeqs: string[];
  /** Commands with the same seq more than once on the stream. */
  duplicateSeqs: string[];
  outcomes: Record<string, number>;
  /** Submits answered with an error code, by code. */
  refused: Record<string, number>;
  refusedTotal: number;
  /** Commands that were refused or unanswered at least once before their accept (or that never got one). */
  delayedCommands: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function judge(
  nc: NatsConnection,
  load: CardLoad,
  executed: Executed[],
  options: { fromSeq: number; eventsWaitMs?: number },
): Promise<Verdict> {
  const commands = [...load.commands.values()];
  const known = new Set(commands.filter((c) => c.view).map((c) => c.requestId));
  const mine = new Set(commands.map((c) => c.requestId));
  const runs = new Map<string, number>();
  const lost: string[] = [];
  for (const e of executed) {
    if (e.commandName !== 'Purchase' || !mine.has(e.requestId)) continue;
    runs.set(e.requestId, (runs.get(e.requestId) ?? 0) + 1);
    if (!known.has(e.requestId)) lost.push(`${e.requestId}: run by the device, no record`);
  }
  const ran = (id: string) => `the device ran it ${runs.get(id) ?? 0}×`;
  for (const c of commands) {
    if (c.acceptedAt !== undefined && !c.view) {
      lost.push(`${c.requestId}: accepted, then not found (${ran(c.requestId)})`);
    } else if (c.view && !c.view.final) {
      const v = c.view;
      lost.push(
        `${c.requestId}: accepted, still ${v.phase} (sent ${v.sentAt ? new Date(v.sentAt).toISOString() : '-'}, ` +
          `deadline ${v.deadlineAt ? new Date(v.deadlineAt).toISOString() : '-'}; ${ran(c.requestId)})`,
      );
    }
  }
  const doublePurchases = [...runs].filter(([, n]) => n > 1).map(([id, n]) => `${id} ×${n}`);

  // Events are published after the state change; give the last ones a moment to land before counting gaps.
  const finals = commands.filter((c) => c.view?.final);
  const deadline = Date.now() + (options.eventsWaitMs ?? 15_000);
  let events = await readEventsRetrying(nc, mine, options.fromSeq, deadline);
  while (Date.now() < deadline && finals.some((c) => !hasOutcome(events.get(c.requestId)))) {
    await sleep(500);
    events = await readEventsRetrying(nc, mine, options.fromSeq, deadline);
  }
  const missingSeqs: string[] = [];
  const duplicateSeqs: string[] = [];
  for (const c of commands.filter((x) => x.view)) {
    const seqs = (events.get(c.requestId) ?? []).map((e) => e.seq).sort((a, b) => a - b);
    const distinct = [...new Set(seqs)];
    if (distinct.length !== seqs.length) duplicateSeqs.push(`${c.requestId}: ${seqs.join(',')}`);
    const gaps = distinct.some((seq, i) => seq !== i + 1);
    if (gaps || (c.view!.final && !hasOutcome(events.get(c.requestId)))) {
      missingSeqs.push(`${c.requestId} (${c.view!.phase}): seqs [${distinct.join(',')}]`);
    }
  }

  const outcomes: Record<string, number> = {};
  for (const c of finals) {
    const key = `${c.view!.phase}/${c.view!.outcome}`;
    outcomes[key] = (outcomes[key] ?? 0) + 1;
  }
  const refused: Record<string, number> = {};
  for (const a of load.attempts) {
    if (a.result !== 'accepted') refused[a.result] = (refused[a.result] ?? 0) + 1;
  }
  return {
    accepted: known.size,
    lost,
    doublePurchases,
    missingSeqs,
    duplicateSeqs,
    outcomes,
    refused,
    refusedTotal: Object.values(refused).reduce((a, b) => a + b, 0),
    delayedCommands: new Set(
      load.attempts.filter((a) => a.result !== 'accepted').map((a) => a.requestId),
    ).size,
  };
}

const hasOutcome = (events: EdcPublicEvent[] | undefined) =>
  (events ?? []).some((e) => e.type === 'outcome');

async function readEventsRetrying(
  nc: NatsConnection,
  requestIds: Set<string>,
  fromSeq: number,
  until: number,
) {
  for (;;) {
    try {
      return await readEvents(nc, requestIds, fromSeq);
    } catch (error) {
      // the stream's leader can still be settling after a fault
      if (Date.now() > until) throw error;
      await sleep(500);
    }
  }
}

/**
 * Every event of these commands on TILLBUS_EDC from `fromSeq` on, read message by message from the stream's leader
 * (a consumer would need the meta layer to place it, which a fault can hold up).
 */
async function readEvents(
  nc: NatsConnection,
  requestIds: Set<string>,
  fromSeq: number,
): Promise<Map<string, EdcPublicEvent[]>> {
  const jsm = await jetstreamManager(nc, { timeout: 5000 });
  const { state } = await jsm.streams.info(STREAMS.edc);
  const found = new Map<string, EdcPublicEvent[]>();
  const seqs: number[] = [];
  for (let seq = Math.max(fromSeq, state.first_seq); seq <= state.last_seq; seq++) seqs.push(seq);
  const worker = async () => {
    for (let seq = seqs.shift(); seq !== undefined; seq = seqs.shift()) {
      const message = await jsm.streams.getMessage(STREAMS.edc, { seq });
      if (!message) continue;
      const event = message.json<EdcPublicEvent>();
      if (requestIds.has(event.requestId)) {
        found.set(event.requestId, [...(found.get(event.requestId) ?? []), event]);
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return found;
}

/** The last sequence of TILLBUS_EDC now: a case reads its events from the next one on. */
export async function eventsSeqNow(nc: NatsConnection): Promise<number> {
  const jsm = await jetstreamManager(nc, { timeout: 5000 });
  return (await jsm.streams.info(STREAMS.edc)).state.last_seq + 1;
}

/** One line per figure, for the test log and docs/operations.md. */
export function describeVerdict(name: string, v: Verdict, figures: Record<string, string>): string {
  return [
    `[cluster] ${name}`,
    ...Object.entries(figures).map(([k, value]) => `  ${k}: ${value}`),
    `  accepted ${v.accepted}, lost ${v.lost.length}, double Purchases ${v.doublePurchases.length}, ` +
      `missing event seqs ${v.missingSeqs.length}, duplicate seqs ${v.duplicateSeqs.length}`,
    `  outcomes ${JSON.stringify(v.outcomes)}`,
    `  refused or unanswered submits ${v.refusedTotal} ${JSON.stringify(v.refused)}, ` +
      `over ${v.delayedCommands} commands`,
  ].join('\n');
}
