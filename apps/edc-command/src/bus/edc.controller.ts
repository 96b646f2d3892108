import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { type EdcCommandView, SUBJECTS } from '@tillbus/contracts';
import {
  GetCommandRequest,
  SettleCommandRequest,
  SubmitAndWaitRequest,
  SubmitCommandRequest,
} from '@tillbus/contracts/dto';
import { CommandIntake } from '../commands/command-intake';
import { CommandSettlement } from '../commands/command-settlement';

/** The bus API for POS clients; the work is in CommandIntake. Unexpected errors: see EDC_UNKNOWN_ERROR_REPLY. */
@Controller()
export class EdcController {
  constructor(
    private readonly intake: CommandIntake,
    private readonly settlement: CommandSettlement,
  ) {}

  @MessagePattern(SUBJECTS.edc.submit)
  submit(@Payload() request: SubmitCommandRequest): Promise<EdcCommandView> {
    return this.intake.submit(request);
  }

  @MessagePattern(SUBJECTS.edc.get)
  get(@Payload() request: GetCommandRequest): Promise<EdcCommandView> {
    return this.intake.get(request.deviceId, request.requestId);
  }

  @MessagePattern(SUBJECTS.edc.submitAndWait)
  submitAndWait(@Payload() request: SubmitAndWaitRequest): Promise<EdcCommandView> {
    return this.intake.submitAndWait(request);
  }

  /** Operator only (auth.conf): settles a command in doubt. */
  @MessagePattern(SUBJECTS.edc.settle)
  settle(@Payload() request: SettleCommandRequest): Promise<EdcCommandView> {
    return this.settlement.settle(request);
  }
}
