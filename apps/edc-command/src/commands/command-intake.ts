import { Inject, Injectable } from '@nestjs/common';
import type { Subscription } from '@nats-io/transport-node';
import {
  type EdcCommandView,
  EdcError,
  type EdcPublicEvent,
  EVENT_SUBJECTS,
  NotFoundError,
} from '@tillbus/contracts';
import type { SubmitAndWaitRequest, SubmitCommandRequest } from '@tillbus/contracts/dto';
import { CLOCK, type Clock, decodeJsonPayload, NatsConnectionManager } from '@tillbus/messaging';
import { JsonLogger } from '@tillbus/observability';
import type { EdcRecordCommand } from '@tillbus/result-codes';
import { BridgePresence } from '../vendor/presence';
import { EDC_CONFIG, EdcCommandConfig } from '../config';
import { rejectionLabel } from './errors';
import { paramsHash, recordKey } from '../store/keys';
import { EdcMetrics } from '../metrics';
import { needsBaseline } from '../record/baseline';
import { isDone, isSettled, viewOf, type StoredCommand } from '../record/model';
import { CommandTimers } from '../recovery/command-timers';
import { CommandTakeover } from '../ownership/command-takeover';
import { DeviceStore, RecordStore } from '../store/stores';
import { BaselineReader } from './baseline-reader';
import { BridgeDispatch } from './bridge-dispatch';
import { CancelIntake } from './cancel-intake';
import { assertNoTarget, commandParams } from './command-params';
import { CommandWriter } from './command-writer';
import { DeviceLock } from './device-lock';
import { idempotent } from './idempotency';
import { newCommandRecord } from './new-command-record';
import { presenceRefusal, refusalError, type Refusal } from './refusals';
import { BridgeProbe } from '../vendor/bridge-probe';
import { SubmitWaiters } from './submit-waiters';

/**
 * The bus API's work: a submitted command is checked, made idempotent by its requestId, given the device's lock
 * (at most one in flight per device, across replicas) and sent; submit-and-wait then waits for its outcome.
 */
@Injectable()
export class CommandIntake {
  constructor(
    @Inject(EDC_CONFIG) private readonly config: EdcCommandConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly connection: NatsConnectionManager,
    private readonly records: RecordStore,
    private readonly devices: DeviceStore,
    private readonly deviceLock: DeviceLock,
    private readonly writer: CommandWriter,
    private readonly dispatch: BridgeDispatch,
    private readonly baseline: BaselineReader,
    private readonly cancels: CancelIntake,
    private readonly timers: CommandTimers,
    private readonly waiters: SubmitWaiters,
    private readonly presence: BridgePresence,
    private readonly probe: BridgeProbe,
    private readonly metrics: EdcMetrics,
    private readonly logger: JsonLogger,
    private readonly takeover: CommandTakeover,
  ) {}

  async get(deviceId: string, requestId: string): Promise<EdcCommandView> {
    const found = await this.records.readOn(deviceId, requestId);
    if (!found || found.value.kind === 'alias') {
      throw new NotFoundError(`no command ${requestId} on device ${deviceId}`, {
        deviceId,
        requestId,
      });
    }
    return viewOf(found.value);
  }

  /**
   * `beforeDispatch` runs right before the command goes to the bridge, in the same turn, so what it sends (the
   * submit-and-wait subscription) leaves in the same socket write as the command.
   */
  async submit(
    request: SubmitCommandRequest,
    beforeDispatch?: () => void,
  ): Promise<EdcCommandView> {
    try {
      if (request.commandName === 'CommandCancel') {
        beforeDispatch?.();
        return await this.cancels.submit(request, false);
      }
      return await this.submitCommand(request, beforeDispatch);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string') {
        this.metrics.rejections.inc({ code: rejectionLabel(code) });
        this.logger.event('info', 'submit refused', {
          code,
          deviceId: request.deviceId,
          requestId: request.requestId,
          commandName: request.commandName,
        });
      }
      throw error;
    }
  }

  async submitAndWait(request: SubmitAndWaitRequest): Promise<EdcCommandView> {
    const waitMs = Math.min(
      request.waitMs ?? this.config.EDC_WAIT_DEFAULT_MS,
      this.config.EDC_WAIT_MAX_MS,
    );
    const key = recordKey(request.requestId);
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    // woken by this replica's own write, or by the outcome event when another replica writes it
    const stopWaiting = this.waiters.add(key, wake);
    let subscription: Subscription | undefined;
    const subscribe = () => {
      subscription ??= this.connection.connection.subscribe(
        EVENT_SUBJECTS.edc(request.deviceId, request.requestId),
        {
          callback: (_error, msg) => {
            const decoded = decodeJsonPayload(msg.data, null);
            if (decoded.ok && (decoded.value as EdcPublicEvent | null)?.type === 'outcome') wake();
          },
        },
      );
    };
    let timer: NodeJS.Timeout | undefined;
    try {
      const { waitMs: _wait, ...submitted } = request;
      void _wait;
      // subscribed before the command reaches the bridge, so its outcome cannot pass unseen
      let view = await this.submit(submitted as SubmitCommandRequest, subscribe);
      if (isDone(view)) return view;
      if (!subscription) {
        // an earlier submit of this requestId is running: listen, then look once more
        subscribe();
        view = await this.get(request.deviceId, request.requestId);
        if (isDone(view)) return view;
      }
      timer = setTimeout(wake, waitMs);
      await woken;
      const cached = await this.records.read(key);
      if (cached && cached.value.kind !== 'alias' && isDone(viewOf(cached.value)))
        return viewOf(cached.value);
      return await this.get(request.deviceId, request.requestId);
    } finally {
      clearTimeout(timer);
      // after the reply has gone out, not in the socket write before it
      const done = subscription;
      if (done) setImmediate(() => done.unsubscribe());
      stopWaiting();
    }
  }

  private async submitCommand(
    request: SubmitCommandRequest,
    beforeDispatch?: () => void,
  ): Promise<EdcCommandView> {
    const { deviceId, requestId } = request;
    const commandName = request.commandName as EdcRecordCommand;
    const key = recordKey(requestId);
    const hash = paramsHash({
      commandName,
      params: request.params ?? {},
      purchase: request.purchase ?? null,
      targetRequestId: request.targetRequestId ?? null,
    });
    assertNoTarget(request);
    const params = await commandParams(request, this.records);
    const notReachable = presenceRefusal(deviceId, this.presence.device(deviceId));
    if (notReachable) {
      const existing = await this.records.read(key, { fresh: true });
      if (existing) return idempotent(existing.value, hash, deviceId);
      if (!(await this.probe.overrules(notReachable, { deviceId, requestId, commandName })))
        throw notReachable;
    }
    const now = this.clock.now();
    const holder = { requestId, commandName, since: now };
    const lock = await this.deviceLock.take(deviceId, key, holder, now);
    if (lock.kind === 'exists') return idempotent(lock.record, hash, deviceId);
    if (lock.kind === 'busy') {
      const running = lock.holder;
      this.metrics.busyRejections.inc({ source: 'lock' });
      throw new EdcError(
        'DEVICE_BUSY',
        `device ${deviceId} has a command in flight; nothing was started`,
        {
          deviceId,
          source: 'lock',
          ...(running
            ? { runningRequestId: running.requestId, runningCommand: running.commandName }
            : {}),
        },
      );
    }
    const previousTransactionId = lock.previous?.lastTransactionId ?? null;
    const baseline =
      this.config.EDC_RECOVERY_WITHOUT_REQUEST_ID === 'fresh-transaction' &&
      needsBaseline(commandName, previousTransactionId)
        ? await this.baseline.read(deviceId, requestId)
        : undefined;
    const record = newCommandRecord(
      this.config,
      request,
      commandName,
      params,
      hash,
      previousTransactionId,
      baseline ? this.clock.now() : now,
    );
    // durably on the record before the payment leaves: recovery reads it after a lost result
    if (baseline) record.baseline = baseline;
    const created = await this.records.create(key, record).catch((error: unknown) => {
      // no answer is not "not stored": find out, and run or end the command if it was
      this.takeover.confirmCreate(key, record);
      throw error;
    });
    if (!created.created) {
      const existing = created.existing;
      // a running command of this requestId on this device holds the lock too: it is its lock, not ours to free
      const itsLock =
        existing.kind === 'command' && existing.deviceId === deviceId && !isSettled(existing);
      if (!itsLock) await this.devices.release(deviceId, requestId, undefined, now);
      return idempotent(existing, hash, deviceId);
    }
    this.timers.own(key, record);
    this.logger.event('info', 'command accepted', { deviceId, requestId, commandName });
    beforeDispatch?.();
    const refusal = await this.dispatch.dispatch(key, record);
    if (refusal) await this.refused(key, record, created.revision, refusal);
    return viewOf(record);
  }

  /**
   * The bridge started nothing: the record goes and the device is freed, so the same requestId may be used again.
   * If something already moved the record, it stays and records the refusal.
   */
  private async refused(
    key: string,
    record: StoredCommand,
    revision: number,
    refusal: Refusal,
  ): Promise<never> {
    const error = refusalError(record.deviceId, refusal);
    if (refusal.status === 'busy') this.metrics.busyRejections.inc({ source: 'bridge' });
    if (await this.records.remove(key, revision)) {
      this.timers.disown(key);
      await this.devices.release(record.deviceId, record.requestId, undefined, this.clock.now());
      this.logger.event('info', 'command refused before it started', {
        deviceId: record.deviceId,
        requestId: record.requestId,
        status: refusal.status,
      });
      throw error;
    }
    await this.writer.apply(key, { type: 'refused', code: refusal.status });
    throw error;
  }
}
