import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { SUBJECTS, TillbusError, UnavailableError, type EdcCommandView } from '@tillbus/messaging';
import { JsonLogger } from '@tillbus/observability';
import { GetCommandRequest, SubmitAndWaitRequest, SubmitCommandRequest } from './dto';
import { CommandIntake } from './commands/command-intake';
import { CommandSettlement } from './commands/command-settlement';
import { SettleCommandRequest } from './settle.dto';

/** The bus API for POS clients; the work is in CommandIntake. */
@Controller()
export class EdcController {
  constructor(
    private readonly intake: CommandIntake,
    private readonly settlement: CommandSettlement,
    private readonly logger: JsonLogger,
  ) {}

  @MessagePattern(SUBJECTS.edc.submit)
  submit(@Payload() request: SubmitCommandRequest): Promise<EdcCommandView> {
    return this.guard(() => this.intake.submit(request));
  }

  @MessagePattern(SUBJECTS.edc.get)
  get(@Payload() request: GetCommandRequest): Promise<EdcCommandView> {
    return this.guard(() => this.intake.get(request.deviceId, request.requestId));
  }

  @MessagePattern(SUBJECTS.edc.submitAndWait)
  submitAndWait(@Payload() request: SubmitAndWaitRequest): Promise<EdcCommandView> {
    return this.guard(() => this.intake.submitAndWait(request));
  }

  /** Operator only (auth.conf): settles a command in doubt. */
  @MessagePattern(SUBJECTS.edc.settle)
  settle(@Payload() request: SettleCommandRequest): Promise<EdcCommandView> {
    return this.guard(() => this.settlement.settle(request));
  }

  /** A failure of NATS or KV is UNAVAILABLE: retrying with the same requestId is safe, it never starts a second command. */
  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof TillbusError) throw error;
      this.logger.event('error', 'edc-command could not reach its state', { error: String(error) });
      throw new UnavailableError(
        'edc-command could not reach NATS or its KV buckets; retry with the same requestId (it is never run twice)',
      );
    }
  }
}
