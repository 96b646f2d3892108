import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { STREAMS } from '@tillbus/contracts';
import { BUCKETS } from '@tillbus/messaging';
import { expect } from 'vitest';
import { startCardLoad, type CardLoad } from './card-load';
import { deviceId, EDC_DEVICES, PROBE_DEVICE, type ClusterStack } from './stack';
import { describeStuck, stuckCommands } from './stuck';
import { describeVerdict, eventsSeqNow, judge, type Verdict } from './verdict';

/** The stream behind edc-command's command records. */
const COMMANDS_STREAM = `KV_${BUCKETS.edcCommand.commands}`;

/** The target: the first command accepted at most this long after quorum is back. */
export const FIRST_ACCEPT_TARGET_MS = 1_000;
/** Card load before the fault, so the fault hits commands in every phase. */
export const WARM_MS = 3_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface QuorumOptions {
  /** Nodes known dead: a leader named here is the cluster's stale view, not a leader. */
  down?: string[];
  /** Every replica current, not just a quorum: a node that was replaced has caught up. */
  allCurrent?: boolean;
}

/**
 * Whether JetStream serves every stream right now: the meta leader answers the stream list, and each stream has a
 * leader with a quorum of current replicas (a stream whose leader is gone has none in the list).
 */
export async function quorumServed(
  nc: NatsConnection,
  options: QuorumOptions = {},
): Promise<boolean> {
  return (await quorumGaps(nc, options)).length === 0;
}

/** The streams not served as `options` asks (empty: all are), for quorumServed and the failure message. */
export async function quorumGaps(
  nc: NatsConnection,
  options: QuorumOptions = {},
): Promise<string[]> {
  try {
    const jsm = await jetstreamManager(nc, { timeout: 1000 });
    const gaps: string[] = [];
    let count = 0;
    for await (const info of jsm.streams.list()) {
      count += 1;
      const cluster = info.cluster;
      const name = info.config.name;
      if (!cluster?.leader) gaps.push(`${name}: no leader`);
      else if (options.down?.includes(cluster.leader))
        gaps.push(`${name}: led by ${cluster.leader}, down`);
      else {
        const current = (cluster.replicas ?? []).filter((r) => r.current && !r.offline).length + 1;
        const needed = options.allCurrent
          ? info.config.num_replicas
          : Math.floor(info.config.num_replicas / 2) + 1;
        if (current < needed) {
          gaps.push(
            `${name}: ${current} of ${info.config.num_replicas} current (${JSON.stringify(cluster.replicas)})`,
          );
        }
      }
    }
    if (count === 0) return ['no streams listed'];
    // And the command store answers a read of its own (a 404 is an answer: its leader served it).
    await jsm.streams
      .getMessage(COMMANDS_STREAM, {
        last_by_subj: `$KV.${BUCKETS.edcCommand.commands}.cluster-probe`,
      })
      .catch((error: Error) => {
        if (!/no message found|404/i.test(error.message))
          gaps.push(`${COMMANDS_STREAM}: ${error.message}`);
      });
    return gaps;
  } catch (error) {
    return [`stream list: ${(error as Error).message}`];
  }
}

/**
 * Polls quorumServed every 50 ms from `from` on; resolves with the first moment it holds after `from`. The poll
 * itself takes time, so the moment is the start of the poll that said yes (conservative for the target: later).
 */
export async function quorumBackAt(
  nc: NatsConnection,
  from: number,
  options: QuorumOptions & { timeoutMs?: number } = {},
): Promise<number> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const deadline = from + timeoutMs;
  let gaps: string[] = [];
  while (Date.now() < deadline) {
    const started = Date.now();
    gaps = started >= from ? await quorumGaps(nc, options) : ['not yet'];
    if (gaps.length === 0) return started;
    await sleep(50);
  }
  throw new Error(
    `JetStream did not serve every stream (${JSON.stringify(options)}) within ${timeoutMs} ms: ${gaps.join('; ')}`,
  );
}

export interface CaseRun {
  load: CardLoad;
  verdict: Verdict;
  /** ms from quorum back to the first accepted submit (negative: a submit was accepted before every stream was). */
  firstAcceptMs: number;
  /** From the fault to quorum back. */
  outageMs: number;
  /** Refused or unanswered submits from the fault until the first accept after quorum. */
  refusedInFault: number;
}

/** Checks and prints one case: the four counts, every service alive, and the first-accept figure. */
export async function finishCase(
  name: string,
  stack: ClusterStack,
  load: CardLoad,
  times: { faultAt: number; quorumAt: number; fromSeq: number },
  initialPids: Record<string, number>,
  extraFigures: Record<string, string> = {},
): Promise<CaseRun> {
  const first = await waitForAccept(load, times.quorumAt);
  // Some load after recovery too, then every command to its final state.
  await sleep(2_000);
  await load.finish(90_000);
  const executed = (
    await stack.kicc<{ executed: { requestId: string; commandName: string; deviceId: string }[] }>({
      op: 'executed',
    })
  ).executed;
  const verdict = await judge(stack.nc, load, executed, { fromSeq: times.fromSeq });
  const firstAcceptMs = first.answeredAt - times.quorumAt;
  const refusedInFault = load.attempts.filter(
    (a) =>
      a.result !== 'accepted' && a.answeredAt >= times.faultAt && a.answeredAt <= first.answeredAt,
  ).length;
  const outageMs = times.quorumAt - times.faultAt;
  const lastRefusal = load.attempts
    .filter((a) => a.result !== 'accepted' && a.answeredAt <= first.answeredAt)
    .sort((a, b) => b.answeredAt - a.answeredAt)[0];
  const caught = [...load.commands.values()].filter(
    (c) => c.acceptedAt !== undefined && c.acceptedAt < times.faultAt,
  );
  const lastCaughtFinal = Math.max(
    times.faultAt,
    ...caught.map((c) => c.view?.finishedAt ?? Infinity),
  );
  const problems = await stack.problems(initialPids);
  console.log(
    describeVerdict(name, verdict, {
      'fault → quorum back': `${(outageMs / 1000).toFixed(2)} s`,
      'quorum back → first accepted': `${(firstAcceptMs / 1000).toFixed(2)} s (target ≤ 1 s)`,
      'fault → first accepted after quorum': `${((first.answeredAt - times.faultAt) / 1000).toFixed(2)} s`,
      'refused submits in the fault': String(refusedInFault),
      'last refusal before the first accept': lastRefusal
        ? `${lastRefusal.result}: ${lastRefusal.message}`
        : 'none',
      'fault → every command it caught in flight final': Number.isFinite(lastCaughtFinal)
        ? `${((lastCaughtFinal - times.faultAt) / 1000).toFixed(2)} s`
        : 'not all final',
      services: problems.length === 0 ? 'all alive' : problems.join('; '),
      ...extraFigures,
    }),
  );
  if (verdict.lost.length > 0)
    console.log(await describeStuck(stack.nc, stuckCommands(load), stack.logLines));
  expect.soft(verdict.lost, 'lost commands').toEqual([]);
  expect.soft(verdict.doublePurchases, 'double Purchases').toEqual([]);
  expect.soft(verdict.missingSeqs, 'missing event seqs').toEqual([]);
  expect.soft(problems, 'every service alive').toEqual([]);
  expect
    .soft(firstAcceptMs, 'ms from quorum back to the first accepted command')
    .toBeLessThanOrEqual(FIRST_ACCEPT_TARGET_MS);
  expect(verdict.accepted, 'the load ran').toBeGreaterThan(0);
  return { load, verdict, firstAcceptMs, outageMs, refusedInFault };
}

async function waitForAccept(load: CardLoad, after: number, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const found = load.firstAcceptedAfter(after);
    if (found) return found;
    await sleep(20);
  }
  // what the POS got meanwhile, by code; nothing at all: every lane follows a command it was told was accepted
  const since = load.attempts.filter((a) => a.answeredAt >= after);
  const byResult: Record<string, number> = {};
  for (const a of since) byResult[a.result] = (byResult[a.result] ?? 0) + 1;
  const last = since.at(-1);
  throw new Error(
    `no command was accepted within ${timeoutMs} ms of quorum back; answers since: ${JSON.stringify(byResult)}` +
      (last ? `, the last at ${new Date(last.answeredAt).toISOString()}: ${last.message}` : ''),
  );
}

/** At the fault: a lane on the idle probe device, whose first accept is the case's figure. */
export function probeAtFault(load: CardLoad): number {
  load.probe(PROBE_DEVICE);
  return Date.now();
}

/** Starts the card load; `fromSeq` is where this case's events begin on TILLBUS_EDC. */
export async function cardLoad(
  stack: ClusterStack,
  label: string,
  options: { fromSeq?: number } = {},
): Promise<{ load: CardLoad; fromSeq: number }> {
  const fromSeq = options.fromSeq ?? (await eventsSeqNow(stack.nc));
  const load = startCardLoad(
    stack.nc,
    Array.from({ length: EDC_DEVICES }, (_, i) => deviceId(i)),
    label,
  );
  return { load, fromSeq };
}

/** The node that leads the edc-command event stream. */
export const EDC_EVENTS_STREAM = STREAMS.edc;

/** Makes sure the test's connection is served before a case starts (a previous case may have moved it). */
export async function streamsReady(nc: NatsConnection): Promise<void> {
  await quorumBackAt(nc, Date.now(), { allCurrent: true, timeoutMs: 60_000 });
  await jetstream(nc).streams.get(EDC_EVENTS_STREAM);
}

/**
 * Waits until the cluster creates an R3 stream (then deletes it): /jsz names a meta leader a moment before the
 * leader serves requests, and the cases other than the cold start begin from a cluster that is fully up.
 */
export async function clusterServes(nc: NatsConnection, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const jsm = await jetstreamManager(nc, { timeout: 2000 });
      await jsm.streams.add({
        name: 'CLUSTER_PROBE',
        subjects: ['cluster.probe'],
        num_replicas: 3,
      });
      await jsm.streams.delete('CLUSTER_PROBE');
      return;
    } catch (error) {
      last = error;
      await sleep(200);
    }
  }
  throw new Error(
    `the cluster did not create an R3 stream within ${timeoutMs} ms: ${String(last)}`,
  );
}
