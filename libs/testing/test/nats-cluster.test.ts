import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNatsCluster, waitFor, type TestNatsCluster } from '../src';

let cluster: TestNatsCluster;
beforeAll(async () => {
  cluster = await startTestNatsCluster({ nodes: 3 });
});
afterAll(async () => {
  await cluster?.stop();
});

describe('startTestNatsCluster', () => {
  it('starts three nodes that elect a meta leader and host an R3 stream', async () => {
    expect(cluster.urls).toHaveLength(3);
    expect(cluster.servers.map((server) => server.name)).toEqual(['n1', 'n2', 'n3']);
    expect(['n1', 'n2', 'n3']).toContain(await cluster.metaLeader());

    const nc = await connect({ servers: cluster.urls });
    try {
      const jsm = await jetstreamManager(nc, { timeout: 10_000 });
      await jsm.streams.add({
        name: 'CLUSTER_CHECK',
        subjects: ['cluster.check'],
        num_replicas: 3,
      });
      expect(['n1', 'n2', 'n3']).toContain(await cluster.streamLeader('CLUSTER_CHECK'));
    } finally {
      await nc.close();
    }
  });

  it('a killed meta leader is replaced, and it rejoins with a wiped store', async () => {
    const leader = await cluster.metaLeader();
    const node = cluster.servers.find((server) => server.name === leader)!;
    await node.kill();
    // The survivors still name the old leader until their election ends.
    const next = await waitFor(
      async () => {
        const current = await cluster.metaLeader();
        return current !== leader && current;
      },
      { timeoutMs: 30_000, what: 'a new meta leader' },
    );
    expect(['n1', 'n2', 'n3']).toContain(next);

    await node.start({ wipeStore: true });
    const nc = await connect({ servers: node.url });
    try {
      // a node on a blank store serves JetStream once it has rejoined the meta group and caught up
      const info = await waitFor(
        async () => (await jetstreamManager(nc, { timeout: 5_000 })).streams.info('CLUSTER_CHECK'),
        { timeoutMs: 60_000, intervalMs: 500, what: 'the rejoined node to serve the stream' },
      );
      expect(info.cluster?.replicas?.length ?? 0).toBeGreaterThanOrEqual(1);
    } finally {
      await nc.close();
    }
  });
});
