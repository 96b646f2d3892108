import { Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { EASYCARD_SESSION_STATES, type EasyCardSessionStateKind } from '@tillbus/result-codes';
import { MCH_ID, READER_ID } from './ids';

const READER_ID_MESSAGE = { message: 'deviceId must be 1-64 letters, digits, _ or -' };

/** `tillbus.easycard.session.get` and `…session.key.<deviceId>`. */
export class DeviceRequest {
  @Matches(READER_ID, READER_ID_MESSAGE)
  deviceId!: string;
}

/** `tillbus.easycard.session.list`. */
export class SessionListRequest {
  @IsOptional()
  @IsIn(EASYCARD_SESSION_STATES)
  state?: EasyCardSessionStateKind;

  @IsOptional()
  @Matches(MCH_ID, { message: 'mchId must be 1-64 letters, digits, _ or -' })
  mchId?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_000)
  limit?: number;
}

/** `tillbus.easycard.signon`. */
export class SignOnRequest {
  @Matches(READER_ID, READER_ID_MESSAGE)
  deviceId!: string;

  /** Sign on even though the reader holds a valid sign-on that is not due for renewal. */
  @IsOptional()
  @IsBoolean()
  force?: boolean;
}

/** `tillbus.easycard.readers.register`. */
export class RegisterReaderRequest {
  @Matches(READER_ID, READER_ID_MESSAGE)
  deviceId!: string;

  /** Required when several merchants are configured. */
  @IsOptional()
  @Matches(MCH_ID, { message: 'mchId must be 1-64 letters, digits, _ or -' })
  mchId?: string;
}
