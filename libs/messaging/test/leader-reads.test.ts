import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startTestNatsServer, type TestNatsServer } from '@tillbus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyProvisioning,
  durableConsumerConfig,
  edcCommandProvisioning,
  missingProvisioning,
  openKvBucket,
  type Provisioning,
} from '../src';

let nats: TestNatsServer;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startTestNatsServer();
  nc = await connect({ servers: nats.url });
});
afterAll(async () => {
  await nc?.close();
  await nats?.dispose();
});

/** The JetStream API subjects a read of `bucket` was sent on, while `read` runs. */
async function readSubjects(bucket: string, read: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const watch = nc.subscribe('$JS.API.>', {
    callback: (_error, msg) => {
      if (msg.subject.includes(`KV_${bucket}`)) seen.push(msg.subject);
    },
  });
  await nc.flush();
  await read();
  await nc.flush();
  watch.unsubscribe();
  return seen;
}

describe('payment buckets are read from the stream leader, never by direct get', () => {
  it('every edc-command bucket is declared without direct gets', () => {
    const plan = edcCommandProvisioning({});
    expect(plan.buckets.map((b) => [b.name, b.allowDirect])).toEqual(
      plan.buckets.map((b) => [b.name, false]),
    );
  });

  it('a bucket created with direct gets is reported by verify, brought to leader reads by apply, and then read through STREAM.MSG.GET', async () => {
    const jsm = await jetstreamManager(nc);
    const kvm = new Kvm(nc);
    const plan: Provisioning = {
      streams: [],
      buckets: [{ name: 'leader_reads', allowDirect: false }],
      consumers: [],
    };
    // as a release before this one created it: the client's default, direct gets on
    await kvm.create('leader_reads');
    expect((await jsm.streams.info('KV_leader_reads')).config.allow_direct).toBe(true);
    expect(await missingProvisioning(jsm, plan)).toEqual([
      'bucket leader_reads (allow_direct must be false)',
    ]);

    await applyProvisioning(jsm, kvm, plan);
    expect((await jsm.streams.info('KV_leader_reads')).config.allow_direct).toBe(false);
    expect(await missingProvisioning(jsm, plan)).toEqual([]);

    const kv = await openKvBucket(jsm, kvm, 'leader_reads');
    await kv.put('cmd-1', 'running');
    let value: string | undefined;
    const subjects = await readSubjects('leader_reads', async () => {
      value = (await kv.get('cmd-1'))?.string();
    });
    expect(value).toBe('running');
    expect(subjects).toEqual(['$JS.API.STREAM.MSG.GET.KV_leader_reads']);
  });

  it('a new bucket declared without direct gets is created so', async () => {
    const jsm = await jetstreamManager(nc);
    const plan: Provisioning = {
      streams: [],
      buckets: [{ name: 'leader_reads_new', allowDirect: false }],
      consumers: [],
    };
    await applyProvisioning(jsm, new Kvm(nc), plan);
    expect((await jsm.streams.info('KV_leader_reads_new')).config.allow_direct).toBe(false);
  });

  it('a bucket that declares nothing keeps direct gets (device-health, orders: any replica may answer)', async () => {
    const jsm = await jetstreamManager(nc);
    const kvm = new Kvm(nc);
    await applyProvisioning(jsm, kvm, {
      streams: [],
      buckets: [{ name: 'any_replica' }],
      consumers: [],
    });
    const kv = await openKvBucket(jsm, kvm, 'any_replica');
    await kv.put('k', 'v');
    const subjects = await readSubjects('any_replica', () => kv.get('k'));
    expect(subjects).toEqual(['$JS.API.DIRECT.GET.KV_any_replica.$KV.any_replica.k']);
  });
});

describe('a durable consumer whose redelivery bound is not the declared one', () => {
  it('is reported by verify and brought to the declaration by apply', async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'BOUND_CHECK', subjects: ['bound.check.>'] });
    const declared = {
      stream: 'BOUND_CHECK',
      durable: 'bound-check',
      filterSubject: 'bound.check.>',
      maxDeliver: 200,
      ackWaitMs: 30_000,
      concurrency: 1,
    };
    const plan: Provisioning = { streams: [], buckets: [], consumers: [declared] };
    // as a release with the old bound created it
    await jsm.consumers.add('BOUND_CHECK', { ...durableConsumerConfig(declared), max_deliver: 21 });
    expect(await missingProvisioning(jsm, plan)).toEqual([
      'consumer BOUND_CHECK/bound-check (max_deliver 21 must be 201)',
    ]);
    await applyProvisioning(jsm, new Kvm(nc), plan);
    expect(await missingProvisioning(jsm, plan)).toEqual([]);
    expect((await jsm.consumers.info('BOUND_CHECK', 'bound-check')).config.max_deliver).toBe(201);
  });
});
