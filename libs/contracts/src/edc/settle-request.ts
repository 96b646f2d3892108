import { IsIn, IsOptional, IsString, Length, Matches } from 'class-validator';
import type { EdcSettleRequest } from './settlement';
import { EDC_SETTLEMENT_OUTCOMES, type EdcSettlementOutcome } from '@tillbus/result-codes';
import { CommandRef } from './requests';

/** `tillbus.edc.command.settle` (operator only): settles a command in doubt. */
export class SettleCommandRequest extends CommandRef implements EdcSettleRequest {
  @IsIn(EDC_SETTLEMENT_OUTCOMES, {
    message: `$property must be one of ${EDC_SETTLEMENT_OUTCOMES.join(', ')}`,
  })
  outcome!: EdcSettlementOutcome;

  @IsString()
  @Length(3, 500)
  reason!: string;

  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{1,32}$/, {
    message: '$property must be 1-32 characters of A-Z a-z 0-9 _ -',
  })
  approval?: string;

  @IsString()
  @Length(1, 64)
  operator!: string;

  @IsString()
  @Length(1, 64)
  natsUser!: string;
}
