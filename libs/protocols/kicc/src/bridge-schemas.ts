import 'reflect-metadata';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  Equals,
  IsArray,
  IsBoolean,
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
  type KiccCommandName,
  type KiccEventCode,
  type KiccInitCode,
} from '@tillbus/result-codes';
import {
  ACK_STATUS_LIST,
  BRIDGE_ID_PATTERN,
  BRIDGE_JOURNAL_VERSION,
  BRIDGE_PROTOCOL_VERSIONS,
  BRIDGE_RESULT_CALLBACKS,
  JOURNAL_STATE_LIST,
  type BridgeAckStatus,
  type BridgeJournalState,
  type BridgeMessageType,
  type BridgeProtocolVersion,
  type BridgeResultCallback,
} from './bridge-vocabulary';

/** A subset of the messaging lib's subject token, so a requestId can name a public event subject too. */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9_:-]{1,128}$/;
export const ID_MESSAGE = { message: '$property must be 1-64 characters of A-Z a-z 0-9 _ -' };
export const REQUEST_ID_MESSAGE = {
  message: '$property must be 1-128 characters of A-Z a-z 0-9 _ : -',
};

export abstract class EnvelopeBase {
  /** The v1 message types are the same in v2: a bridge may write them with either. */
  @IsIn(BRIDGE_PROTOCOL_VERSIONS)
  v!: BridgeProtocolVersion;

  /** Epoch milliseconds on the sender's clock. */
  @IsInt()
  @Min(0)
  sentAt!: number;
}

export abstract class DeviceEnvelope extends EnvelopeBase {
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

  /**
   * v2, GetLastTransaction only: the requestId of the last Purchase or PurchaseCancel the bridge handed to this
   * device (its journal, written before sendCommand), so the answer can be told apart from an older transaction.
   */
  @IsOptional()
  @Matches(REQUEST_ID_PATTERN, REQUEST_ID_MESSAGE)
  lastSentRequestId?: string;
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

/** v2: "what became of requestId X?", asked on the device's journal subject (§12). */
export class BridgeJournalQueryBody {
  /**
   * Close a requestId the journal does not hold: the bridge records it as never received, so a copy of the command
   * still on its way is refused (`expired`) instead of started. edc-command always closes; a peek (tooling) does not.
   */
  @IsBoolean()
  close!: boolean;
}

export class BridgeJournalQuery extends DeviceEnvelope {
  @Equals(BRIDGE_JOURNAL_VERSION)
  override v!: 2;

  @Equals('journal_query')
  type!: 'journal_query';

  @IsObject()
  @ValidateNested()
  @Type(() => BridgeJournalQueryBody)
  body!: BridgeJournalQueryBody;
}

export class BridgeJournalBody {
  @IsIn(JOURNAL_STATE_LIST)
  state!: BridgeJournalState;

  /** Epoch ms from which the journal holds every requestId the bridge received for the device. */
  @IsInt()
  @Min(0)
  journalSince!: number;

  /** With `finished`: the stored result message, as published (same seq, same content). */
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => BridgeResult)
  result?: BridgeResult;
}

export class BridgeJournal extends DeviceEnvelope {
  @Equals(BRIDGE_JOURNAL_VERSION)
  override v!: 2;

  @Equals('journal')
  type!: 'journal';

  @IsObject()
  @ValidateNested()
  @Type(() => BridgeJournalBody)
  body!: BridgeJournalBody;
}

export type BridgeMessage =
  | BridgeCommand
  | BridgeAck
  | BridgeEvent
  | BridgeResult
  | BridgeHeartbeat
  | BridgeJournalQuery
  | BridgeJournal;

/** The schema class of each message type. */
export const BRIDGE_SCHEMAS: Record<BridgeMessageType, new () => BridgeMessage> = {
  command: BridgeCommand,
  ack: BridgeAck,
  event: BridgeEvent,
  result: BridgeResult,
  heartbeat: BridgeHeartbeat,
  journal_query: BridgeJournalQuery,
  journal: BridgeJournal,
};
