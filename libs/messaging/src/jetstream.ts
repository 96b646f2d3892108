import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type PubAck,
  type StreamConfig,
} from '@nats-io/jetstream';
import type { KV, Kvm } from '@nats-io/kv';
import { DEAD_LETTER_ALL, HEADERS, STREAMS } from '@tillbus/contracts';
import { outgoingHeaders } from './headers';
import type { KvBucketDeclaration } from './options';

export type StreamDeclaration = Partial<StreamConfig> & { name: string };

/** File storage, limits retention: what every tillbus stream starts from (production runs 3 replicas). */
export function streamDefaults(name: string, subjects: string[], replicas = 1): StreamDeclaration {
  return {
    name,
    subjects,
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    duplicate_window: 2 * 60 * 1_000_000_000,
    num_replicas: replicas,
  };
}

/**
 * Creates the stream, or brings an existing one to the declared config. Safe to run from every replica at
 * every start.
 */
export async function ensureStream(
  jsm: JetStreamManager,
  config: StreamDeclaration,
): Promise<void> {
  const name = config.name;
  try {
    const existing = await jsm.streams.info(name);
    // Only a real change is sent: an update of an R3 stream whose replicas are still forming (another replica just
    // created it) stalls the create and the update alike, until both time out (nats-server 2.9).
    if (declaredMatches(existing.config, config)) return;
    await jsm.streams.update(name, { ...existing.config, ...config } as StreamConfig);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    try {
      await jsm.streams.add(config);
    } catch (addError) {
      // Another replica created it between our info() and add(): that is the state we wanted.
      if (!(addError instanceof JetStreamApiError) || !/already in use/i.test(addError.message))
        throw addError;
    }
  }
}

/** Whether every field `declared` names already has that value in `actual`. */
export function declaredMatches(actual: object, declared: object): boolean {
  const current = actual as Record<string, unknown>;
  return Object.entries(declared).every(
    ([key, value]) => value === undefined || JSON.stringify(current[key]) === JSON.stringify(value),
  );
}

/** Creates or binds a KV bucket with the declared limits. */
export async function ensureKvBucket(
  kvm: Kvm,
  declaration: KvBucketDeclaration,
  defaultReplicas = 1,
): Promise<KV> {
  return kvm.create(declaration.name, {
    ttl: declaration.ttlMs ?? 0,
    history: declaration.history ?? 1,
    replicas: declaration.replicas ?? defaultReplicas,
    max_bytes: declaration.maxBytes ?? -1,
    ...(declaration.allowDirect === undefined ? {} : { allow_direct: declaration.allowDirect }),
  });
}

/** The stream behind `tillbus.dlq.>`, where every durable consumer puts what it gave up on. */
export function deadLetterStream(replicas = 1): StreamDeclaration {
  return streamDefaults(STREAMS.deadLetters, [DEAD_LETTER_ALL], replicas);
}

/**
 * Publishes an event to JetStream and waits for the stream's ack. `messageId` makes a retried publish of the
 * same event a no-op inside the stream's duplicate window.
 */
export async function publishEvent(
  js: JetStreamClient,
  subject: string,
  event: unknown,
  options: { messageId?: string; timeoutMs?: number } = {},
): Promise<PubAck> {
  const headers = outgoingHeaders(
    options.messageId ? { [HEADERS.messageId]: options.messageId } : {},
  );
  return js.publish(subject, JSON.stringify(event), {
    headers,
    timeout: options.timeoutMs ?? 5000,
  });
}

export function isNotFound(error: unknown): boolean {
  return (
    error instanceof JetStreamApiError &&
    (error.status === 404 || error.code === JetStreamApiCodes.StreamNotFound)
  );
}
