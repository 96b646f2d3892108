import { KiccProtocolError } from './errors';
import { BRIDGE_ID_PATTERN } from './bridge-vocabulary';

/** Subject templates for the messaging lib; `{deviceId}` and `{bridgeId}` are single NATS tokens. */
export const KICC_BRIDGE_SUBJECTS = {
  command: 'tillbus.edc.bridge.{deviceId}.command',
  events: 'tillbus.edc.bridge.{deviceId}.events',
  heartbeat: 'tillbus.edc.bridge.heartbeat.{bridgeId}',
  /** v2: edc-command asks the bridge's journal what became of a requestId (core request/reply). */
  journal: 'tillbus.edc.bridge.{deviceId}.journal',
} as const;

export const KICC_BRIDGE_SUBJECT_WILDCARDS = {
  command: 'tillbus.edc.bridge.*.command',
  events: 'tillbus.edc.bridge.*.events',
  heartbeat: 'tillbus.edc.bridge.heartbeat.*',
  journal: 'tillbus.edc.bridge.*.journal',
} as const;

export type KiccBridgeSubjectKind = keyof typeof KICC_BRIDGE_SUBJECTS;

/**
 * The JetStream stream that holds every bridge `event` and `result` (subjects `tillbus.edc.bridge.*.events`), so a
 * result published while no edc-command replica runs, or during a restart, is delivered later instead of lost.
 * edc-command declares it; docs/bridge-protocol.md §1 gives its limits.
 */
export const KICC_BRIDGE_STREAM = 'TILLBUS_EDC_BRIDGE';
/** The bridge's dedupe horizon (§7) and the stream's max age: 72 h. */
export const KICC_BRIDGE_RETENTION_MS = 72 * 3_600_000;
/** The stream's duplicate window: a republished `Nats-Msg-Id` within it is stored once. */
export const KICC_BRIDGE_DUPLICATE_WINDOW_MS = 2 * 60_000;

/**
 * `Nats-Msg-Id` of an event or result: `<deviceId>:<requestId>:<seq>`, the same on every retry (§4, step 7). It
 * names the device, so one device's messages can never be dropped as duplicates of another's.
 */
export function bridgeMessageId(deviceId: string, requestId: string, seq: number): string {
  return `${deviceId}:${requestId}:${seq}`;
}

/**
 * The key of the bridge's dedupe store (§7): the device and the requestId. A deviceId holds no `:`, so the key is
 * one to one.
 */
export function bridgeDedupeKey(deviceId: string, requestId: string): string {
  return `${deviceId}:${requestId}`;
}

/** Ids that would make one subject family match another family's wildcard. */
const RESERVED_IDS: Record<KiccBridgeSubjectKind, readonly string[]> = {
  command: ['heartbeat'],
  events: ['heartbeat'],
  heartbeat: ['command', 'events', 'journal'],
  journal: ['heartbeat'],
};

export function kiccBridgeSubject(kind: KiccBridgeSubjectKind, id: string): string {
  if (typeof id !== 'string' || !BRIDGE_ID_PATTERN.test(id) || RESERVED_IDS[kind].includes(id)) {
    throw new KiccProtocolError('INVALID_SUBJECT_TOKEN', `not a valid ${kind} subject id`);
  }
  return KICC_BRIDGE_SUBJECTS[kind].replace(/\{\w+\}/, id);
}

/** The kind and id of a bridge subject, or null when the subject is not one. */
export function readKiccBridgeSubject(
  subject: string,
): { kind: KiccBridgeSubjectKind; id: string } | null {
  const tokens = subject.split('.');
  if (
    tokens.length !== 5 ||
    tokens[0] !== 'tillbus' ||
    tokens[1] !== 'edc' ||
    tokens[2] !== 'bridge'
  ) {
    return null;
  }
  const [, , , third, fourth] = tokens;
  if (
    third === 'heartbeat' &&
    BRIDGE_ID_PATTERN.test(fourth) &&
    !RESERVED_IDS.heartbeat.includes(fourth)
  ) {
    return { kind: 'heartbeat', id: fourth };
  }
  if (
    (fourth === 'command' || fourth === 'events' || fourth === 'journal') &&
    BRIDGE_ID_PATTERN.test(third) &&
    third !== 'heartbeat'
  ) {
    return { kind: fourth, id: third };
  }
  return null;
}
