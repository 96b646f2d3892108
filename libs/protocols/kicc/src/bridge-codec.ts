import {
  describeViolations,
  readVendorMessage,
  validatePlain,
  type UnrecognisedValue,
} from '@tillbus/validation';
import { assertNoCardData, assertPlainJson } from './card-data';
import { parseKiccCommandRequest } from './command-parsing';
import { KiccProtocolError } from './errors';
import { decodeJson } from './json';
import { BRIDGE_SCHEMAS, type BridgeMessage } from './bridge-schemas';
import { readKiccBridgeSubject, type KiccBridgeSubjectKind } from './bridge-subjects';
import {
  BRIDGE_MESSAGE_TYPES,
  BRIDGE_PROTOCOL_VERSIONS,
  MESSAGE_TYPE_LIST,
  isBridgeResultCallback,
  type BridgeMessageType,
} from './bridge-vocabulary';

export interface ParseBridgeOptions {
  /** The subject the message arrived on: its device or bridge id and its message types must agree. */
  subject?: string;
}

/** A bridge message read by the tolerant-reader rule, with what this version did not know in it. */
export interface ReadBridgeMessage {
  readonly message: BridgeMessage;
  /** Dotted paths of fields the schema does not declare; they are kept in `message`, verbatim. */
  readonly unknownFields: readonly string[];
  /**
   * Values of the closed vocabularies (commandName, ack status, event code, result callback, init code) this version
   * does not know, as received. The message is still used: an unknown event code is recorded but moves no phase,
   * an unknown ack status or result callback settles nothing (the command is resent or recovered as for a lost one).
   */
  readonly unrecognised: readonly UnrecognisedValue[];
}

/**
 * JSON text or bytes from a bridge to a typed message, or a KiccProtocolError, by the tolerant-reader rule
 * (protocols.md, top): a newer bridge may add fields and codes, so fields this version does not know are kept and
 * unknown codes are reported, never a refusal. Card data anywhere, a wrong type, a missing required field and the
 * size and id limits still refuse. A `command` (what edc-command sends) is read strictly.
 */
export function readBridgeMessage(
  input: unknown,
  options: ParseBridgeOptions = {},
): ReadBridgeMessage {
  return checkMessage(decodeJson(input), 'parse', options);
}

/** readBridgeMessage, for callers that need only the message. */
export function parseBridgeMessage(
  input: unknown,
  options: ParseBridgeOptions = {},
): BridgeMessage {
  return readBridgeMessage(input, options).message;
}

/** A typed message to JSON text, after the same checks the receiver makes: nothing invalid leaves this process. */
export function encodeBridgeMessage(message: BridgeMessage): string {
  return JSON.stringify(checkMessage(message, 'encode', {}).message);
}

function checkMessage(
  raw: unknown,
  mode: 'parse' | 'encode',
  options: ParseBridgeOptions,
): ReadBridgeMessage {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new KiccProtocolError('INVALID_MESSAGE', 'a bridge message must be a JSON object');
  }
  assertPlainJson(raw);
  const envelope = raw as Record<string, unknown>;
  if (!(BRIDGE_PROTOCOL_VERSIONS as readonly unknown[]).includes(envelope.v)) {
    throw new KiccProtocolError('UNSUPPORTED_VERSION', undefined, {
      supported: [...BRIDGE_PROTOCOL_VERSIONS],
    });
  }
  const type = envelope.type;
  if (typeof type !== 'string' || !MESSAGE_TYPE_LIST.includes(type as BridgeMessageType)) {
    throw new KiccProtocolError(
      'INVALID_MESSAGE',
      `type must be one of ${MESSAGE_TYPE_LIST.join(', ')}`,
    );
  }
  const since = BRIDGE_MESSAGE_TYPES[type as BridgeMessageType].since;
  if ((envelope.v as number) < since) {
    throw new KiccProtocolError('INVALID_MESSAGE', `a ${type} message is v${since}`);
  }
  checkCardData(type as BridgeMessageType, envelope);
  const schema = BRIDGE_SCHEMAS[type as BridgeMessageType];
  const read =
    mode === 'encode' || type === 'command' || type === 'journal_query'
      ? strictly(schema, envelope, mode)
      : readVendorMessage(schema, envelope);
  if (!read.ok) {
    throw new KiccProtocolError('INVALID_MESSAGE', describeViolations(read.violations), {
      violations: read.violations,
    });
  }
  const message = read.value;
  checkConsistency(message);
  if (options.subject !== undefined) checkSubject(message, options.subject);
  return { message, unknownFields: read.unknownFields, unrecognised: read.unrecognised };
}

/** What we send, and commands: every field and code must be ours (unknown fields refused on encode, dropped on parse). */
function strictly(
  schema: new () => BridgeMessage,
  envelope: Record<string, unknown>,
  mode: 'parse' | 'encode',
) {
  const result = validatePlain(
    schema,
    envelope,
    mode === 'encode' ? { forbidUnknown: true } : { forbidUnknown: false, stripUnknown: true },
  );
  return result.ok
    ? { ...result, unknownFields: [] as string[], unrecognised: [] as UnrecognisedValue[] }
    : result;
}

/**
 * See CardDataMode: acquirerMetaData may ride only in a result or a PurchaseCancel command (and in the stored
 * result a journal answer carries).
 */
function checkCardData(type: BridgeMessageType, envelope: Record<string, unknown>): void {
  const { body, ...head } = envelope;
  assertNoCardData(head, 'envelope');
  if (type === 'journal' && body !== null && typeof body === 'object' && !Array.isArray(body)) {
    const { result, ...rest } = body as Record<string, unknown>;
    assertNoCardData(rest, 'envelope', 'body');
    if (result !== null && typeof result === 'object' && !Array.isArray(result)) {
      const { body: resultBody, ...resultHead } = result as Record<string, unknown>;
      assertNoCardData(resultHead, 'envelope', 'body.result');
      assertNoCardData(resultBody, 'result', 'body.result.body');
    } else assertNoCardData(result, 'envelope', 'body.result');
    return;
  }
  const bodyMode =
    type === 'event' ? 'event' : type === 'result' || type === 'command' ? 'result' : 'envelope';
  assertNoCardData(body, bodyMode, 'body');
}

function checkConsistency(message: BridgeMessage): void {
  if (message.type === 'command') {
    const params = parseKiccCommandRequest(message.commandName, message.body.commandRequestParams);
    const paramsRequestId = (params as { requestId?: string }).requestId;
    if (paramsRequestId !== undefined && paramsRequestId !== message.requestId) {
      throw new KiccProtocolError(
        'INVALID_MESSAGE',
        'requestId must equal commandRequestParams.requestId',
      );
    }
    const isCancel = message.commandName === 'CommandCancel';
    if (isCancel !== (message.body.targetRequestId !== undefined)) {
      throw new KiccProtocolError(
        'INVALID_MESSAGE',
        'body.targetRequestId is required with CommandCancel and only with it',
      );
    }
  }
  if (message.type === 'journal') checkJournal(message);
  if (message.type === 'result' && isBridgeResultCallback(message.body.callback)) {
    const { callback, responseData, failure } = message.body;
    if (callback === 'onSuccess' && (responseData === undefined || failure !== undefined)) {
      throw new KiccProtocolError(
        'INVALID_MESSAGE',
        'onSuccess carries responseData and no failure',
      );
    }
    if (callback !== 'onSuccess' && failure === undefined) {
      throw new KiccProtocolError('INVALID_MESSAGE', `${callback} carries body.failure`);
    }
  }
}

/** A journal answer carries the stored result exactly when it says `finished`, and that result is the one asked for. */
function checkJournal(message: Extract<BridgeMessage, { type: 'journal' }>): void {
  const { state, result } = message.body;
  if ((state === 'finished') !== (result !== undefined)) {
    throw new KiccProtocolError(
      'INVALID_MESSAGE',
      'body.result is required with state finished and only with it',
    );
  }
  if (!result) return;
  if (result.deviceId !== message.deviceId || result.requestId !== message.requestId) {
    throw new KiccProtocolError(
      'INVALID_MESSAGE',
      'body.result must be the result of the deviceId and requestId asked about',
    );
  }
  checkConsistency(result);
}

const SUBJECT_KIND: Record<BridgeMessageType, KiccBridgeSubjectKind | null> = {
  command: 'command',
  ack: null,
  event: 'events',
  result: 'events',
  heartbeat: 'heartbeat',
  journal_query: 'journal',
  journal: null,
};

function checkSubject(message: BridgeMessage, subject: string): void {
  const read = readKiccBridgeSubject(subject);
  const expectedKind = SUBJECT_KIND[message.type];
  const id = message.type === 'heartbeat' ? message.bridgeId : message.deviceId;
  // an ack or a journal answer travels as the reply to a request, on an inbox subject
  if ((message.type === 'ack' || message.type === 'journal') && read === null) return;
  if (read === null || read.kind !== expectedKind || read.id !== id) {
    throw new KiccProtocolError(
      'INVALID_MESSAGE',
      `a ${message.type} message does not belong on this subject`,
    );
  }
}
