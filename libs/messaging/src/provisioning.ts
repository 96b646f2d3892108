import { JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';
import type { KV, Kvm } from '@nats-io/kv';
import type { DurableDeclaration, Provisioning } from './declarations';
import type { KvBucketDeclaration } from './options';
import { durableConsumerConfig } from './declarations';
import { ensureKvBucket, ensureStream, isNotFound } from './jetstream';

/**
 * `verify`: the service only checks that its streams, buckets and consumers exist (production: a separate step
 * with its own identity provisions them). `apply`: the service declares its own part at startup, for development
 * and tests on a server without tillbus's permissions.
 */
export const PROVISIONING_MODES = ['verify', 'apply'] as const;
export type ProvisioningMode = (typeof PROVISIONING_MODES)[number];

export const kvStreamName = (bucket: string) => `KV_${bucket}`;

/** One item of a plan to create or update: a stream, a KV bucket or a durable consumer. */
export interface ProvisioningStep {
  kind: 'stream' | 'bucket' | 'consumer';
  /** The stream or bucket name, or `STREAM/durable` for a consumer. */
  target: string;
  run(jsm: JetStreamManager, kvm: Kvm): Promise<unknown>;
}

/** What applyProvisioning does, one idempotent step per item, in order: streams, buckets, then consumers. */
export function provisioningSteps(plan: Provisioning): ProvisioningStep[] {
  const replicas = plan.streams[0]?.num_replicas ?? 1;
  return [
    ...plan.streams.map((stream): ProvisioningStep => ({
      kind: 'stream',
      target: stream.name,
      run: (jsm) => ensureStream(jsm, stream),
    })),
    ...plan.buckets.map((bucket): ProvisioningStep => ({
      kind: 'bucket',
      target: bucket.name,
      run: async (jsm, kvm) => {
        await ensureKvBucket(kvm, bucket, replicas);
        await alignDirectReads(jsm, bucket);
      },
    })),
    ...plan.consumers.map((consumer): ProvisioningStep => ({
      kind: 'consumer',
      target: `${consumer.stream}/${consumer.durable}`,
      run: (jsm) => ensureConsumer(jsm, consumer),
    })),
  ];
}

/** Creates or updates every stream, bucket and consumer of `plan` (idempotent). Returns what it did, in order. */
export async function applyProvisioning(
  jsm: JetStreamManager,
  kvm: Kvm,
  plan: Provisioning,
): Promise<string[]> {
  const done: string[] = [];
  for (const step of provisioningSteps(plan)) {
    await step.run(jsm, kvm);
    done.push(`${step.kind} ${step.target}`);
  }
  return done;
}

/** Creates the durable consumer, or brings an existing one to the declared config. */
export async function ensureConsumer(
  jsm: JetStreamManager,
  declaration: DurableDeclaration,
): Promise<void> {
  const config = durableConsumerConfig(declaration);
  try {
    await jsm.consumers.info(declaration.stream, declaration.durable);
  } catch (error) {
    if (!isConsumerNotFound(error)) throw error;
    await jsm.consumers.add(declaration.stream, config);
    return;
  }
  await jsm.consumers.update(declaration.stream, declaration.durable, config);
}

/**
 * What of `plan` the server lacks, one line each (`stream TILLBUS_ORDERS`, `bucket …`, `consumer STREAM/durable`),
 * or a line saying why something could not be checked. Empty when everything is there.
 */
export async function missingProvisioning(
  jsm: JetStreamManager,
  plan: Provisioning,
): Promise<string[]> {
  const { missing, unchecked } = await provisioningGaps(jsm, plan);
  return [...missing, ...unchecked];
}

export interface ProvisioningGaps {
  /** What the server says it does not have (or has with the wrong setting): the provisioning Job has not run. */
  missing: string[];
  /** What it could not say, with why (`stream X (cannot check: timeout)`): JetStream is not answering yet. */
  unchecked: string[];
}

/** missingProvisioning, telling what is missing from what JetStream could not answer for (a cluster electing). */
export async function provisioningGaps(
  jsm: JetStreamManager,
  plan: Provisioning,
): Promise<ProvisioningGaps> {
  // One gap or none per declaration, in the plan's order; the checks go out together, so the whole check takes
  // about one request's time (a startup step gives an attempt ATTEMPT_PATIENCE_MS).
  const check = async (what: string, probe: () => Promise<string | undefined>) => {
    try {
      const wrong = await probe();
      return wrong ? { missing: wrong } : {};
    } catch (error) {
      if (isNotFound(error) || isConsumerNotFound(error)) return { missing: what };
      return { unchecked: `${what} (cannot check: ${(error as Error).message})` };
    }
  };
  const results = await Promise.all([
    ...plan.streams.map((stream) =>
      check(`stream ${stream.name}`, async () => void (await jsm.streams.info(stream.name))),
    ),
    ...plan.buckets.map((bucket) =>
      check(`bucket ${bucket.name}`, async () => {
        const { config } = await jsm.streams.info(kvStreamName(bucket.name));
        if (
          bucket.allowDirect !== undefined &&
          (config.allow_direct === true) !== bucket.allowDirect
        )
          return `bucket ${bucket.name} (allow_direct must be ${bucket.allowDirect})`;
      }),
    ),
    ...plan.consumers.map((consumer) =>
      check(`consumer ${consumer.stream}/${consumer.durable}`, async () => {
        const { config } = await jsm.consumers.info(consumer.stream, consumer.durable);
        // the server stops redelivering at its own bound: one below ours and a failing message is neither
        // retried nor dead-lettered (a release that raised the bound, before `tillbus provision` ran)
        const declared = durableConsumerConfig(consumer).max_deliver;
        if ((config.max_deliver ?? -1) !== declared)
          return `consumer ${consumer.stream}/${consumer.durable} (max_deliver ${config.max_deliver} must be ${declared})`;
      }),
    ),
  ]);
  return {
    missing: results.flatMap((r) => (r.missing ? [r.missing] : [])),
    unchecked: results.flatMap((r) => (r.unchecked ? [r.unchecked] : [])),
  };
}

/**
 * A bucket created before its declaration set `allowDirect` keeps the old setting (creating a bucket that exists
 * only binds it): bring its stream to the declaration.
 */
async function alignDirectReads(jsm: JetStreamManager, bucket: KvBucketDeclaration): Promise<void> {
  if (bucket.allowDirect === undefined) return;
  const stream = kvStreamName(bucket.name);
  const { config } = await jsm.streams.info(stream);
  if ((config.allow_direct === true) === bucket.allowDirect) return;
  await jsm.streams.update(stream, { ...config, allow_direct: bucket.allowDirect });
}

/** Binds an existing bucket without creating or updating it (only STREAM.INFO of its stream). */
export async function openKvBucket(jsm: JetStreamManager, kvm: Kvm, name: string): Promise<KV> {
  const info = await jsm.streams.info(kvStreamName(name));
  return kvm.open(name, { allow_direct: info.config.allow_direct === true });
}

function isConsumerNotFound(error: unknown): boolean {
  return (
    error instanceof JetStreamApiError &&
    (error.status === 404 || /consumer not found/i.test(error.message))
  );
}
