import { Inject, Injectable } from '@nestjs/common';
import { type EdcCommandView, EdcError } from '@tillbus/contracts';
import type { SubmitCommandRequest } from '@tillbus/contracts/dto';
import { CLOCK, type Clock } from '@tillbus/messaging';
import { JsonLogger } from '@tillbus/observability';
import { parseKiccCommandRequest } from '@tillbus/protocols-kicc';
import { edcTransition, isEdcInFlight } from '@tillbus/result-codes';
import { EDC_CONFIG, EdcCommandConfig } from '../config';
import { paramsHash, recordKey } from '../store/keys';
import { EdcMetrics } from '../metrics';
import { RECORD_VERSION, viewOf, type StoredCancel, type StoredCommand } from '../record/model';
import { CancelDeadlines } from '../recovery/cancel-deadlines';
import { DeviceStore, RecordStore } from '../store/stores';
import { BridgeDispatch } from './bridge-dispatch';
import { invalidParams, purchaseNotTaken } from './command-params';
import { CommandWriter } from './command-writer';
import { idempotent } from './idempotency';

/**
 * CommandCancel, from a POS or sent by edc-command itself when the card countdown ended: a record of its own that
 * answers `get` and resubmits, and a `cancel_requested` on the running command, which is refused once the card
 * has been read.
 */
@Injectable()
export class CancelIntake {
  constructor(
    @Inject(EDC_CONFIG) private readonly config: EdcCommandConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly records: RecordStore,
    private readonly devices: DeviceStore,
    private readonly writer: CommandWriter,
    private readonly dispatch: BridgeDispatch,
    private readonly deadlines: CancelDeadlines,
    private readonly metrics: EdcMetrics,
    private readonly logger: JsonLogger,
  ) {}

  async submit(request: SubmitCommandRequest, auto: boolean): Promise<EdcCommandView> {
    const { deviceId, requestId } = request;
    if (request.purchase) throw purchaseNotTaken();
    try {
      parseKiccCommandRequest('CommandCancel', request.params ?? {});
    } catch {
      throw invalidParams('(root)', 'CommandCancel takes no params ({})');
    }
    const key = recordKey(requestId);
    const hash = paramsHash({
      commandName: 'CommandCancel',
      params: {},
      targetRequestId: request.targetRequestId ?? null,
    });
    const existing = await this.records.read(key, { fresh: true });
    if (existing) return idempotent(existing.value, hash, deviceId);
    const targetId =
      request.targetRequestId ?? (await this.devices.read(deviceId)).state?.holder?.requestId;
    if (!targetId)
      throw new EdcError('NOT_RUNNING', `no command is running on device ${deviceId}`, {
        deviceId,
      });
    const targetKey = recordKey(targetId);
    const found = await this.records.readOn(deviceId, targetId);
    const target = found?.value;
    if (!target || target.kind !== 'command') {
      throw new EdcError(
        'NOT_RUNNING',
        `command ${targetId} is not running on device ${deviceId}`,
        { deviceId, targetRequestId: targetId },
      );
    }
    const now = this.clock.now();
    const check = edcTransition(target.lifecycle, { type: 'cancel_requested', at: now });
    if (!check.ok) throw this.refusal(target, check.reason);
    const cancel: StoredCancel = {
      v: RECORD_VERSION,
      kind: 'cancel',
      deviceId,
      requestId,
      commandName: 'CommandCancel',
      createdAt: now,
      updatedAt: now,
      owner: this.config.REPLICA_ID,
      paramsHash: hash,
      targetRequestId: targetId,
      phase: 'sent',
      code: null,
      deadlineAt: now + this.config.EDC_TIMEOUT_COMMAND_CANCEL_MS,
      notAfter: now + this.config.EDC_DISPATCH_WINDOW_MS,
      lastSeq: 0,
      finishedAt: null,
      auto,
      eventSeq: 0,
      publishedThrough: 0,
      outbox: [],
    };
    const created = await this.records.create(key, cancel);
    if (!created.created) return idempotent(created.existing, hash, deviceId);
    const requested = await this.writer.apply(targetKey, {
      type: 'cancel_requested',
      cancelRequestId: requestId,
    });
    if (!requested.changed) {
      const reason = requested.notes.find((note) => note.kind === 'not_cancellable');
      await this.writer.applyCancel(key, { type: 'refused', code: 'CommandInvalid' });
      throw this.refusal(
        requested.record ?? target,
        reason?.kind === 'not_cancellable' ? reason.reason : 'the command moved on',
      );
    }
    this.deadlines.watch(key, cancel.deadlineAt);
    this.logger.event('info', 'CommandCancel sent', {
      deviceId,
      requestId,
      targetRequestId: targetId,
      auto,
    });
    const refusal = await this.dispatch.sendCancel(cancel);
    if (refusal) {
      const done = await this.writer.applyCancel(key, { type: 'refused', code: refusal.status });
      await this.writer.apply(targetKey, {
        type: 'cancel_result',
        cancelRequestId: requestId,
        confirmed: false,
        code: refusal.status,
      });
      return viewOf(done.record ?? cancel);
    }
    const latest = await this.records.read(key);
    return viewOf((latest?.value as StoredCancel | undefined) ?? cancel);
  }

  private refusal(target: StoredCommand, reason: string): EdcError {
    const phase = target.lifecycle.phase;
    if (reason.startsWith('CommandInvalid')) {
      this.metrics.cancels.inc({ result: 'refused_card_read' });
      return new EdcError('CommandInvalid', reason, {
        vendorCode: 'CommandInvalid',
        deviceId: target.deviceId,
        targetRequestId: target.requestId,
        phase,
      });
    }
    if (!isEdcInFlight(phase)) {
      return new EdcError(
        'NOT_RUNNING',
        `command ${target.requestId} is not running: it is ${phase}`,
        {
          deviceId: target.deviceId,
          targetRequestId: target.requestId,
          phase,
        },
      );
    }
    return new EdcError(
      'NOT_RUNNING',
      `command ${target.requestId} cannot be cancelled now: ${reason}`,
      {
        deviceId: target.deviceId,
        targetRequestId: target.requestId,
        phase,
      },
    );
  }
}
