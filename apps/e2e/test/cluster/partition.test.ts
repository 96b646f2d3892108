import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, expect, it } from 'vitest';
import { cardLoad, finishCase, probeAtFault, quorumBackAt, WARM_MS } from './support/fault-case';
import { netnsUnavailable, startNetnsCluster, type NetnsCluster } from './support/netns';
import { provisionCluster, startClusterStack, type ClusterStack } from './support/stack';

/**
 * A partition instead of a kill (issue 17): each node in its own network namespace, and the node edc-command is
 * connected to is cut from the other two (its route link down) while it keeps running and keeps its clients —
 * the worst place for the cut. Then the link comes back. Runs where the machine allows it (root, `ip netns`).
 */
const unavailable = netnsUnavailable();
if (unavailable) console.log(`[cluster] partition case skipped: ${unavailable}`);

let cluster: NetnsCluster | undefined;
let stack: ClusterStack | undefined;
let victimConnection: NatsConnection | undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** How long the node stays cut off. */
const PARTITION_MS = 10_000;

afterAll(async () => {
  await victimConnection?.close();
  await stack?.stop();
  await cluster?.stop();
});

// Skipped until a defect is fixed (issue 17 stays open for it): in 2 of 5 fresh-clone runs one command accepted
// near the cut was still not final after the heal (the lost-commands assertion); docs/operations.md, "Faults,
// measured".
const KNOWN_DEFECT =
  'a command accepted near the cut can stay non-final after the heal (issue 17, open)';

it.skip(`a node partitioned from the other two, then healed (skipped: ${unavailable ?? KNOWN_DEFECT})`, async () => {
  cluster = await startNetnsCluster();
  await provisionCluster(cluster.urls);
  stack = await startClusterStack(cluster.urls);
  const pids = stack.pids();
  await quorumBackAt(stack.nc, Date.now(), { allCurrent: true, timeoutMs: 60_000 });
  const victim = await cluster.nodeOf('edc-command');
  victimConnection = await connect({
    servers: cluster.urls[cluster.names.indexOf(victim)],
    maxReconnectAttempts: -1,
  });
  const { load, fromSeq } = await cardLoad(stack, 'partition');
  await sleep(WARM_MS);
  const faultAt = probeAtFault(load);
  cluster.partition(victim);
  let healedAt: number | undefined;
  try {
    await sleep(PARTITION_MS);
    healedAt = Date.now();
    cluster.heal(victim);
    // Quorum as the cut-off node's clients see it: JetStream answers through that node again.
    const quorumAt = await quorumBackAt(victimConnection, healedAt);
    const acceptedInPartition = load.attempts.filter(
      (a) => a.result === 'accepted' && a.answeredAt >= faultAt && a.answeredAt < healedAt!,
    ).length;
    const resyncedAt = await quorumBackAt(stack.nc, healedAt, {
      allCurrent: true,
      timeoutMs: 60_000,
    });
    // For edc-command's node, quorum is back when its routes to the other two are.
    const run = await finishCase(
      'node partitioned (edc-command on it)',
      stack,
      load,
      { faultAt, quorumAt, fromSeq },
      pids,
      {
        partitioned: `${victim} for ${PARTITION_MS / 1000} s`,
        'accepted during the partition': String(acceptedInPartition),
        'link up → quorum through the node': `${((quorumAt - healedAt) / 1000).toFixed(2)} s`,
        'heal → every replica current again': `${((resyncedAt - healedAt) / 1000).toFixed(2)} s`,
      },
    );
    expect(run.verdict.accepted).toBeGreaterThan(0);
  } finally {
    await load.finish(1);
    if (healedAt === undefined) cluster.heal(victim);
  }
});
