import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { BUCKETS } from '@tillbus/messaging';
import type { CardLoad } from './card-load';

/** The fields of a stored command record that say who should move it on next, and when. */
const RECORD_FIELDS = [
  'kind',
  'owner',
  'lastSeq',
  'gaps',
  'notAfter',
  'createdAt',
  'updatedAt',
  'eventSeq',
  'publishedThrough',
  'cancelRequestId',
  'recovery',
  'anomalies',
] as const;
const LIFECYCLE_FIELDS = [
  'phase',
  'acceptedAt',
  'sentAt',
  'deadlineAt',
  'countdownEndsAt',
  'finishedAt',
  'lastDeviceEvent',
  'unknownCause',
  'recoveryAttempts',
  'resolution',
  'cancel',
] as const;

/** Commands the POS had accepted that are not final in the store: what the lost-commands assertion counts. */
export function stuckCommands(load: CardLoad): { deviceId: string; requestId: string }[] {
  return [...load.commands.values()].filter(
    (c) => (c.acceptedAt !== undefined || c.view) && !c.view?.final,
  );
}

/**
 * For a lost command: its stored record (who owns it, how far the bridge got, its deadlines and recovery), its
 * device's lock, and every log line of the stack that names it, so a failure says where the command stopped.
 */
export async function describeStuck(
  nc: NatsConnection,
  commands: { deviceId: string; requestId: string }[],
  logLines: (needle: string) => string[],
): Promise<string> {
  const out: string[] = [];
  const kvm = new Kvm(nc);
  for (const { deviceId, requestId } of commands) {
    out.push(`[cluster] stuck command ${requestId} on ${deviceId}`);
    out.push(`  record: ${await readSummary(kvm, BUCKETS.edcCommand.commands, requestId)}`);
    out.push(`  device lock: ${await readSummary(kvm, BUCKETS.edcCommand.devices, deviceId)}`);
    const lines = logLines(requestId);
    out.push(`  log lines naming it (${lines.length}):`, ...lines.map((l) => `    ${l}`));
  }
  return out.join('\n');
}

/** Epoch milliseconds as ISO times, to line up with the log lines. */
const asTime = (_key: string, value: unknown) =>
  typeof value === 'number' && value > 1e12 ? new Date(value).toISOString() : value;

async function readSummary(kvm: Kvm, bucket: string, key: string): Promise<string> {
  try {
    const entry = await (await kvm.open(bucket)).get(key);
    if (!entry) return 'none';
    if (entry.operation !== 'PUT') return `${entry.operation} at revision ${entry.revision}`;
    const value = entry.json<Record<string, unknown>>();
    if (bucket !== BUCKETS.edcCommand.commands)
      return `rev ${entry.revision} ${JSON.stringify(value)}`;
    const lifecycle = (value.lifecycle ?? {}) as Record<string, unknown>;
    const picked = {
      ...Object.fromEntries(RECORD_FIELDS.map((f) => [f, value[f]])),
      lifecycle: Object.fromEntries(LIFECYCLE_FIELDS.map((f) => [f, lifecycle[f]])),
      outbox: (value.outbox as { seq: number; type: string }[] | undefined)?.map(
        (e) => `${e.seq}:${e.type}`,
      ),
    };
    return `rev ${entry.revision} ${JSON.stringify(picked, asTime)}`;
  } catch (error) {
    return `could not read: ${(error as Error).message}`;
  }
}
