import { Injectable } from '@nestjs/common';
import { type EdcCommandView, EdcError, NotFoundError } from '@tillbus/contracts';
import type { SettleCommandRequest } from '@tillbus/contracts/dto';
import { JsonLogger } from '@tillbus/observability';
import { recordKey } from '../store/keys';
import { viewOf } from '../record/model';
import { RecordStore } from '../store/stores';
import { CommandWriter } from './command-writer';

/**
 * An operator settles a command in doubt after checking it with KICC: the record keeps who, when, why and what
 * the device last said; the outcome event goes out and the in-doubt index forgets it (CommandEffects).
 */
@Injectable()
export class CommandSettlement {
  constructor(
    private readonly records: RecordStore,
    private readonly writer: CommandWriter,
    private readonly logger: JsonLogger,
  ) {}

  async settle(request: SettleCommandRequest): Promise<EdcCommandView> {
    const { deviceId, requestId } = request;
    const key = recordKey(requestId);
    const found = await this.records.read(key, { fresh: true });
    if (!found || found.value.deviceId !== deviceId || found.value.kind === 'alias') {
      throw new NotFoundError(`no command ${requestId} on device ${deviceId}`, {
        deviceId,
        requestId,
      });
    }
    if (found.value.kind !== 'command') throw this.notInDoubt(request, found.value.phase);
    const written = await this.writer.apply(key, {
      type: 'operator_settle',
      settlement: {
        outcome: request.outcome,
        reason: request.reason,
        ...(request.approval ? { approval: request.approval } : {}),
        by: { operator: request.operator, natsUser: request.natsUser },
      },
    });
    const record = written.record;
    if (!record || !written.notes.some((note) => note.kind === 'settled'))
      throw this.notInDoubt(request, record?.lifecycle.phase ?? 'unknown');
    this.logger.event('warn', 'an operator settled a command in doubt', {
      deviceId,
      requestId,
      outcome: request.outcome,
      operator: request.operator,
      natsUser: request.natsUser,
    });
    return viewOf(record);
  }

  private notInDoubt(request: SettleCommandRequest, phase: string): EdcError {
    return new EdcError(
      'NOT_IN_DOUBT',
      `command ${request.requestId} is ${phase}, not in doubt: only a command in doubt can be settled`,
      { deviceId: request.deviceId, requestId: request.requestId, phase },
    );
  }
}
