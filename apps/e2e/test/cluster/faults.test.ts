import { startTestNatsCluster, type TestNatsCluster } from '@tillbus/testing';
import { afterAll, beforeAll, describe, it } from 'vitest';
import {
  cardLoad,
  EDC_EVENTS_STREAM,
  finishCase,
  probeAtFault,
  quorumBackAt,
  streamsReady,
  WARM_MS,
} from './support/fault-case';
import { provisionCluster, startClusterStack, type ClusterStack } from './support/stack';

/**
 * The cluster tier (issue 17): three nats-server nodes form a JetStream cluster on loopback, every service runs at
 * STREAM_REPLICAS=3, and a POS's card load runs on six KICC devices while a node fails. Each case asserts 0 lost
 * commands, 0 double Purchases, 0 missing event seqs, every service alive, and the first accepted command at most
 * 1 s after quorum is back; the figures are printed and recorded in docs/operations.md ("Faults, measured").
 * The cases share one cluster and one stack, in order; each brings the cluster back to three current nodes.
 */
let cluster: TestNatsCluster;
let stack: ClusterStack;
let pids: Record<string, number>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const node = (name: string) => cluster.servers.find((s) => s.name === name)!;

/** The node edc-command's NATS connection is on (from each node's /connz): a fault there also cuts the service. */
async function edcCommandNode(): Promise<string> {
  for (const server of cluster.servers) {
    const connz = (await fetch(`http://127.0.0.1:${server.monitorPort}/connz?limit=1024`)
      .then((r) => r.json())
      .catch(() => ({}))) as { connections?: { name?: string }[] };
    if (connz.connections?.some((c) => c.name === 'edc-command')) return server.name;
  }
  return 'unknown';
}

beforeAll(async () => {
  cluster = await startTestNatsCluster({ nodes: 3 });
  await cluster.metaLeader();
  await provisionCluster(cluster.urls);
  stack = await startClusterStack(cluster.urls);
  pids = stack.pids();
});

afterAll(async () => {
  await stack?.stop();
  await cluster?.stop();
});

describe('a JetStream cluster of three under card load', () => {
  it('kill -9 of the leader of the edc event stream', async () => {
    await streamsReady(stack.nc);
    const victim = await cluster.streamLeader(EDC_EVENTS_STREAM);
    const { load, fromSeq } = await cardLoad(stack, 'stream-leader');
    await sleep(WARM_MS);
    const edcOn = await edcCommandNode();
    const faultAt = probeAtFault(load);
    await node(victim).kill();
    try {
      const quorumAt = await quorumBackAt(stack.nc, faultAt, { down: [victim] });
      await finishCase('stream leader killed', stack, load, { faultAt, quorumAt, fromSeq }, pids, {
        killed: `${victim} (leader of ${EDC_EVENTS_STREAM}); edc-command was on ${edcOn}`,
      });
    } finally {
      await load.finish(1);
      await node(victim).start();
    }
  });

  it('kill -9 of the JetStream meta leader', async () => {
    await streamsReady(stack.nc);
    const victim = await cluster.metaLeader();
    const { load, fromSeq } = await cardLoad(stack, 'meta-leader');
    await sleep(WARM_MS);
    const edcOn = await edcCommandNode();
    const faultAt = probeAtFault(load);
    await node(victim).kill();
    try {
      const quorumAt = await quorumBackAt(stack.nc, faultAt, { down: [victim] });
      const metaAfter = await cluster.metaLeader();
      await finishCase('meta leader killed', stack, load, { faultAt, quorumAt, fromSeq }, pids, {
        killed: `${victim} (meta leader; ${metaAfter} leads after); edc-command was on ${edcOn}`,
      });
    } finally {
      await load.finish(1);
      await node(victim).start();
    }
  });

  it('a node restarted with its store deleted resyncs from its peers', async () => {
    await streamsReady(stack.nc);
    // The node that leads the command records: the kill moves that leader too, and then the node comes back empty.
    const victim = await cluster.streamLeader('KV_tillbus_edc_command_commands');
    const { load, fromSeq } = await cardLoad(stack, 'wiped-store');
    await sleep(WARM_MS);
    const edcOn = await edcCommandNode();
    const faultAt = probeAtFault(load);
    await node(victim).kill();
    let restarted = false;
    try {
      const quorumAt = await quorumBackAt(stack.nc, faultAt, { down: [victim] });
      await sleep(2_000);
      const restartAt = Date.now();
      await node(victim).start({ wipeStore: true });
      restarted = true;
      const resyncedAt = await quorumBackAt(stack.nc, restartAt, {
        allCurrent: true,
        timeoutMs: 60_000,
      });
      const refusedAfterRestart = load.attempts.filter(
        (a) => a.result !== 'accepted' && a.answeredAt >= restartAt,
      ).length;
      await finishCase(
        'node restarted on a blank store',
        stack,
        load,
        { faultAt, quorumAt, fromSeq },
        pids,
        {
          'killed and wiped': `${victim}; edc-command was on ${edcOn}`,
          'restart → every replica current again': `${((resyncedAt - restartAt) / 1000).toFixed(2)} s`,
          'refused submits from the restart to resync': String(refusedAfterRestart),
        },
      );
    } finally {
      await load.finish(1);
      if (!restarted) await node(victim).start({ wipeStore: true });
    }
  });
});
