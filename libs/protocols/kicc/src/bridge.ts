import 'reflect-metadata';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  Equals,
  IsArray,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import {
  KICC_COMMAND_NAMES,
  KICC_EVENT_CODE_LIST,
  KICC_INIT_CODE_LIST,
  KICC_SUCCESS_RESULT_CODE,
  isKiccEventCode,
  type EdcEvent,
  type KiccCommandName,
  type KiccEventCode,
  type KiccInitCode,
} from '@tillbus/result-codes';
import {
  describeViolations,
  readVendorMessage,
  validatePlain,
  type UnrecognisedValue,
} from '@tillbus/validation';
import { assertNoCardData, assertPlainJson } from './card-data';
import { parseKiccCommandRequest } from './commands';
import { KiccProtocolError } from './errors';
import { decodeJson } from './json';

/**
 * The protocol between edc-command and the bridge app on the Android POS (docs/bridge-protocol.md). We own it;
 * the seed only defines what the SDK says, which the bridge forwards unchanged inside these envelopes.
 */
export const BRIDGE_PROTOCOL_VERSION = 1;

export const BRIDGE_MESSAGE_TYPES = {
  command: { from: 'edc-command', subject: 'command' },
  ack: { from: 'bridge', subject: 'reply to a command' },
  event: { from: 'bridge', subject: 'events' },
  result: { from: 'bridge', subject: 'events' },
  heartbeat: { from: 'bridge', subject: 'heartbeat' },
} as const;

export type BridgeMessageType = keyof typeof BRIDGE_MESSAGE_TYPES;
const MESSAGE_TYPE_LIST = Object.keys(BRIDGE_MESSAGE_TYPES) as BridgeMessageType[];

/** What the bridge answers to a command, before the SDK is called (or instead of calling it). */
export const BRIDGE_ACK_STATUSES = {
  accepted: { started: true, meaning: 'sendCommand was called' },
  duplicate: {
    started: false,
    meaning:
      'this requestId was seen before; nothing new was started, its events and result are replayed',
  },
  busy: {
    started: false,
    meaning: 'another command is running on the device; nothing was started',
  },
  expired: { started: false, meaning: 'received after body.notAfter; nothing was started' },
  not_ready: {
    started: false,
    meaning: 'the SDK is not initialised for the device; nothing was started',
  },
  unknown_device: {
    started: false,
    meaning: 'the bridge does not drive this device; nothing was started',
  },
  not_running: {
    started: false,
    meaning: 'CommandCancel for a requestId that is not the running command; nothing was sent',
  },
  invalid: { started: false, meaning: 'the command did not parse; nothing was started' },
} as const;

export type BridgeAckStatus = keyof typeof BRIDGE_ACK_STATUSES;
const ACK_STATUS_LIST = Object.keys(BRIDGE_ACK_STATUSES) as BridgeAckStatus[];

export function isBridgeAckStatus(value: unknown): value is BridgeAckStatus {
  return (ACK_STATUS_LIST as readonly unknown[]).includes(value);
}

export const BRIDGE_RESULT_CALLBACKS = [
  'onSuccess',
  'onCommandFailed',
  'onBusinessFailed',
] as const;
export type BridgeResultCallback = (typeof BRIDGE_RESULT_CALLBACKS)[number];

function isBridgeResultCallback(value: unknown): value is BridgeResultCallback {
  return (BRIDGE_RESULT_CALLBACKS as readonly unknown[]).includes(value);
}

/** Device and bridge ids become NATS subject tokens. */
export const BRIDGE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** A subset of the messaging lib's subject token, so a requestId can name a public event subject too. */
const REQUEST_ID_PATTERN = /^[A-Za-z0-9_:-]{1,128}$/;
const ID_MESSAGE = { message: '$property must be 1-64 characters of A-Z a-z 0-9 _ -' };
const REQUEST_ID_MESSAGE = { message: '$property must be 1-128 characters of A-Z a-z 0-9 _ : -' };

// ---------------------------------------------------------------- subjects

/** Subject templates for the messaging lib; `{deviceId}` and `{bridgeId}` are single NATS tokens. */
export const KICC_BRIDGE_SUBJECTS = {
  command: 'tillbus.edc.bridge.{deviceId}.command',
  events: 'tillbus.edc.bridge.{deviceId}.events',
  heartbeat: 'tillbus.edc.bridge.heartbeat.{bridgeId}',
} as const;

export const KICC_BRIDGE_SUBJECT_WILDCARDS = {
  command: 'tillbus.edc.bridge.*.command',
  events: 'tillbus.edc.bridge.*.events',
  heartbeat: 'tillbus.edc.bridge.heartbeat.*',
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
  heartbeat: ['command', 'events'],
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
    (fourth === 'command' || fourth === 'events') &&
    BRIDGE_ID_PATTERN.test(third) &&
    third !== 'heartbeat'
  ) {
    return { kind: fourth, id: third };
  }
  return null;
}

// ---------------------------------------------------------------- schemas

abstract class EnvelopeBase {
  @Equals(BRIDGE_PROTOCOL_VERSION)
  v!: 1;

  /** Epoch milliseconds on the sender's clock. */
  @IsInt()
  @Min(0)
  sentAt!: number;
}

abstract class DeviceEnvelope extends EnvelopeBase {
  @Matches(BRIDGE_ID_PATTERN, ID_MESSAGE)
  deviceId!: string;

  @Matches(REQUEST_ID_PATTERN, REQUEST_ID_MESSAGE)
  requestId!: string;

  @IsIn(KICC_COMMAND_NAMES)
  commandName!: KiccCommandName;
}

abstract class SequencedDeviceEnvelope extends DeviceEnvelope {
  /** 1, 2, 3... per requestId, over its events and its result together. */
  @IsInt()
  @Min(1)
  seq!: number;
}

export class BridgeCommandBody {
  /** The SDK's `commandRequestParams`, exactly as `setCommandRequestParams` takes them. */
  @IsObject()
  commandRequestParams!: Record<string, unknown>;

  /** Epoch ms after which the bridge must not start the command (it answers `expired`). */
  @IsInt()
  @Min(0)
  notAfter!: number;

  /** CommandCancel only: the requestId it cancels; the bridge sends it only if that command is running. */
  @IsOptional()
  @Matches(REQUEST_ID_PATTERN, REQUEST_ID_MESSAGE)
  targetRequestId?: string;

  /** GetLastTransaction of a recovery: the requestId whose result is sought. Informational. */
  @IsOptional()
  @Matches(REQUEST_ID_PATTERN, REQUEST_ID_MESSAGE)
  recoveryOf?: string;
}

export class BridgeCommand extends DeviceEnvelope {
  @Equals('command')
  type!: 'command';

  @IsObject()
  @ValidateNested()
  @Type(() => BridgeCommandBody)
  body!: BridgeCommandBody;
}

export class BridgeAckBody {
  @IsIn(ACK_STATUS_LIST)
  status!: BridgeAckStatus;

  /** With `busy` or `not_running`: the requestId that is running. */
  @IsOptional()
  @Matches(REQUEST_ID_PATTERN, REQUEST_ID_MESSAGE)
  runningRequestId?: string;

  @IsOptional()
  @IsString()
  @MaxLength(256)
  detail?: string;
}

export class BridgeAck extends DeviceEnvelope {
  @Equals('ack')
  type!: 'ack';

  @IsObject()
  @ValidateNested()
  @Type(() => BridgeAckBody)
  body!: BridgeAckBody;
}

export class BridgeEventBody {
  /** `EDCServiceEvent.getCode()`. */
  @IsIn(KICC_EVENT_CODE_LIST)
  code!: KiccEventCode;

  @IsOptional()
  @IsString()
  @MaxLength(256)
  message?: string;
}

export class BridgeEvent extends SequencedDeviceEnvelope {
  @Equals('event')
  type!: 'event';

  @IsObject()
  @ValidateNested()
  @Type(() => BridgeEventBody)
  body!: BridgeEventBody;
}

export class BridgeFailure {
  /** `CommandFailInfo.errorCode`, or `BusinessFailInfo.getErrorCode()` / `responseData.result.resultCode`. */
  @IsString()
  @MaxLength(64)
  code!: string;

  @IsOptional()
  @IsString()
  @MaxLength(512)
  message?: string;
}

export class BridgeResultBody {
  @IsIn(BRIDGE_RESULT_CALLBACKS)
  callback!: BridgeResultCallback;

  /** `CommandResult.getResponseData()`, unchanged; required with onSuccess. */
  @IsOptional()
  @IsObject()
  responseData?: Record<string, unknown>;

  /** Required with onCommandFailed and onBusinessFailed. */
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => BridgeFailure)
  failure?: BridgeFailure;
}

export class BridgeResult extends SequencedDeviceEnvelope {
  @Equals('result')
  type!: 'result';

  @IsObject()
  @ValidateNested()
  @Type(() => BridgeResultBody)
  body!: BridgeResultBody;
}

export class BridgeDeviceInit {
  @IsIn(KICC_INIT_CODE_LIST)
  code!: KiccInitCode;

  @IsOptional()
  @IsString()
  @MaxLength(256)
  message?: string;
}

export class BridgeDeviceStatus {
  @Matches(BRIDGE_ID_PATTERN, ID_MESSAGE)
  deviceId!: string;

  /** `AMSEDCGlobalConfiguration.setEDCProvider`. */
  @Equals('KICC')
  provider!: 'KICC';

  /** The last `onInitResult`; absent while init has not answered. */
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => BridgeDeviceInit)
  init?: BridgeDeviceInit;

  /** The requestId the device is running, if any. */
  @IsOptional()
  @Matches(REQUEST_ID_PATTERN, REQUEST_ID_MESSAGE)
  runningRequestId?: string;
}

export class BridgeSdkVersions {
  /** `com.alipay.antom.sdk:instore-core`. */
  @IsString()
  @MaxLength(32)
  instoreCore!: string;

  /** `com.alipay.antom.sdk:instore-edc-cmd`. */
  @IsString()
  @MaxLength(32)
  instoreEdcCmd!: string;
}

export const HEARTBEAT_INTERVAL_MS = { default: 5_000, min: 1_000, max: 60_000 } as const;
/** A bridge is offline after this many intervals without a heartbeat. */
export const HEARTBEAT_MISSES_BEFORE_OFFLINE = 3;

export class BridgeHeartbeatBody {
  /** Epoch ms the bridge process started: a change means it restarted. */
  @IsInt()
  @Min(0)
  startedAt!: number;

  @IsInt()
  @Min(HEARTBEAT_INTERVAL_MS.min)
  @Max(HEARTBEAT_INTERVAL_MS.max)
  intervalMs!: number;

  @IsString()
  @MaxLength(32)
  appVersion!: string;

  @IsObject()
  @ValidateNested()
  @Type(() => BridgeSdkVersions)
  sdk!: BridgeSdkVersions;

  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(8)
  @IsInt({ each: true })
  protocolVersions!: number[];

  @IsArray()
  @ArrayMaxSize(64)
  @ValidateNested({ each: true })
  @Type(() => BridgeDeviceStatus)
  devices!: BridgeDeviceStatus[];
}

export class BridgeHeartbeat extends EnvelopeBase {
  @Equals('heartbeat')
  type!: 'heartbeat';

  @Matches(BRIDGE_ID_PATTERN, ID_MESSAGE)
  bridgeId!: string;

  /** 1, 2, 3... per bridge process. */
  @IsInt()
  @Min(1)
  seq!: number;

  @IsObject()
  @ValidateNested()
  @Type(() => BridgeHeartbeatBody)
  body!: BridgeHeartbeatBody;
}

export type BridgeMessage =
  BridgeCommand | BridgeAck | BridgeEvent | BridgeResult | BridgeHeartbeat;

const SCHEMAS: Record<BridgeMessageType, new () => BridgeMessage> = {
  command: BridgeCommand,
  ack: BridgeAck,
  event: BridgeEvent,
  result: BridgeResult,
  heartbeat: BridgeHeartbeat,
};

// ---------------------------------------------------------------- codec

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
  if (envelope.v !== BRIDGE_PROTOCOL_VERSION) {
    throw new KiccProtocolError('UNSUPPORTED_VERSION', undefined, {
      supported: [BRIDGE_PROTOCOL_VERSION],
    });
  }
  const type = envelope.type;
  if (typeof type !== 'string' || !MESSAGE_TYPE_LIST.includes(type as BridgeMessageType)) {
    throw new KiccProtocolError(
      'INVALID_MESSAGE',
      `type must be one of ${MESSAGE_TYPE_LIST.join(', ')}`,
    );
  }
  checkCardData(type as BridgeMessageType, envelope);
  const schema = SCHEMAS[type as BridgeMessageType];
  const read =
    mode === 'encode' || type === 'command'
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

/** See CardDataMode: acquirerMetaData may ride only in a result or a PurchaseCancel command. */
function checkCardData(type: BridgeMessageType, envelope: Record<string, unknown>): void {
  const { body, ...head } = envelope;
  assertNoCardData(head, 'envelope');
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

function checkSubject(message: BridgeMessage, subject: string): void {
  const read = readKiccBridgeSubject(subject);
  const expectedKind =
    message.type === 'heartbeat' ? 'heartbeat' : message.type === 'command' ? 'command' : 'events';
  const id = message.type === 'heartbeat' ? message.bridgeId : message.deviceId;
  // an ack travels as the reply to a command, on an inbox subject
  if (message.type === 'ack' && read === null) return;
  if (read === null || read.kind !== expectedKind || read.id !== id) {
    throw new KiccProtocolError(
      'INVALID_MESSAGE',
      `a ${message.type} message does not belong on this subject`,
    );
  }
}

// ---------------------------------------------------------------- reading bridge traffic

/** Where a sequenced message stands against the last seq seen for its requestId. */
export function classifySeq(lastSeq: number, seq: number): 'next' | 'duplicate' | 'gap' {
  if (seq <= lastSeq) return 'duplicate';
  return seq === lastSeq + 1 ? 'next' : 'gap';
}

export function isBridgeOffline(lastHeartbeatAt: number, intervalMs: number, now: number): boolean {
  return now - lastHeartbeatAt > intervalMs * HEARTBEAT_MISSES_BEFORE_OFFLINE;
}

/**
 * The lifecycle event (result-codes edc-lifecycle) a message from the bridge means for the record it names, or
 * null when it means nothing to the lifecycle (an `accepted` or `duplicate` ack, a heartbeat, a command).
 * CommandCancel traffic maps onto the `cancel_*` events of the command being cancelled. The GetLastTransaction of
 * a recovery is read with matchLastTransaction instead.
 */
export function bridgeMessageToEdcEvent(message: BridgeMessage, at: number): EdcEvent | null {
  if (message.type === 'event') {
    // an event code this version does not know is recorded by the caller, but moves nothing
    if (!isKiccEventCode(message.body.code)) return null;
    return { type: 'device_event', code: message.body.code, at };
  }
  if (message.type === 'ack') {
    const { status } = message.body;
    if (!isBridgeAckStatus(status)) return null;
    if (BRIDGE_ACK_STATUSES[status].started || status === 'duplicate') return null;
    return message.commandName === 'CommandCancel'
      ? { type: 'cancel_refused', code: status, at }
      : { type: 'bridge_refused', code: status, at };
  }
  if (message.type !== 'result') return null;
  const { callback, responseData, failure } = message.body;
  // a callback this version does not know settles nothing: the command is recovered as if its result were lost
  if (!isBridgeResultCallback(callback)) return null;
  if (message.commandName === 'CommandCancel') {
    return callback === 'onSuccess'
      ? { type: 'cancel_confirmed', at }
      : { type: 'cancel_refused', code: failure?.code ?? '', at };
  }
  if (callback === 'onSuccess') {
    // a GetLastTransaction answered: its result.resultCode is the last transaction's, not the query's own
    if (message.commandName === 'GetLastTransaction') {
      return { type: 'onSuccess', resultCode: KICC_SUCCESS_RESULT_CODE, at };
    }
    return { type: 'onSuccess', resultCode: resultCodeOf(responseData), at };
  }
  return { type: callback, code: failure?.code ?? '', at };
}

/** `responseData.result.resultCode`, or '' (an answer that settles nothing) when the device left it out. */
function resultCodeOf(responseData: Record<string, unknown> | undefined): string {
  const result = responseData?.result;
  if (result === null || typeof result !== 'object') return '';
  const code = (result as Record<string, unknown>).resultCode;
  return typeof code === 'string' ? code : '';
}
