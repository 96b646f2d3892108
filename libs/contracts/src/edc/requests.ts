import { Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  Matches,
  Max,
  Min,
  NotEquals,
  ValidateNested,
} from 'class-validator';
import { KICC_COMMAND_NAMES, type KiccCommandName } from '@tillbus/result-codes';

/** Device ids are NATS subject tokens on the bridge subjects; `heartbeat` would collide with the heartbeat family. */
const DEVICE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const DEVICE_ID_MESSAGE = { message: '$property must be 1-64 characters of A-Z a-z 0-9 _ -' };
/** A requestId is also a token of `tillbus.events.edc.<deviceId>.<requestId>` and goes to the device as is. */
const REQUEST_ID = /^[A-Za-z0-9_:-]{1,128}$/;
const REQUEST_ID_MESSAGE = { message: '$property must be 1-128 characters of A-Z a-z 0-9 _ : -' };

export class CommandRef {
  @Matches(DEVICE_ID, DEVICE_ID_MESSAGE)
  @NotEquals('heartbeat', { message: '$property may not be "heartbeat"' })
  deviceId!: string;

  @Matches(REQUEST_ID, REQUEST_ID_MESSAGE)
  requestId!: string;
}

export class PurchaseRefDto extends CommandRef {}

/** `tillbus.edc.command.get` */
export class GetCommandRequest extends CommandRef {}

/** `tillbus.edc.command.submit` */
export class SubmitCommandRequest extends CommandRef {
  @IsIn(KICC_COMMAND_NAMES, {
    message: `$property must be one of ${KICC_COMMAND_NAMES.join(', ')}`,
  })
  commandName!: KiccCommandName;

  /**
   * The seed's `commandRequestParams` of the command. `requestId` inside may be left out (it is the requestId
   * above). For a PurchaseCancel, `acquirerInfo.acquirerMetaData` is filled in from `purchase`.
   */
  @IsOptional()
  @IsObject()
  params?: Record<string, unknown>;

  /** PurchaseCancel: the Purchase being cancelled (its record holds the acquirerMetaData the cancel needs). */
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => PurchaseRefDto)
  purchase?: PurchaseRefDto;

  /** CommandCancel: the requestId of the running command; by default, whatever runs on the device. */
  @IsOptional()
  @Matches(REQUEST_ID, REQUEST_ID_MESSAGE)
  targetRequestId?: string;
}

/** `tillbus.edc.command.submit-and-wait` */
export class SubmitAndWaitRequest extends SubmitCommandRequest {
  /** How long to wait for the outcome; bounded by EDC_WAIT_MAX_MS. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(3_600_000)
  waitMs?: number;
}
