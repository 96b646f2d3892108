import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { JsMsg } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  EVENT_SUBJECTS,
  NotFoundError,
  PayloadInvalidError,
  type EdcCommandView,
  type EdcPublicEvent,
} from '@tillbus/contracts';
import {
  BusMetrics,
  decodeJsonPayload,
  DurableConsumer,
  edcBridgeConsumer,
  NatsConnectionManager,
} from '@tillbus/messaging';
import { JetStreamSetup } from '@tillbus/runtime';
import { JsonLogger, OpsServer } from '@tillbus/observability';
import {
  KiccProtocolError,
  parseKiccCommandRequest,
  readBridgeMessage,
  type BridgeAckStatus,
  type ReadBridgeMessage,
} from '@tillbus/protocols-kicc';
import {
  edcOutcome,
  edcTransition,
  kiccCommandKind,
  newEdcCommand,
  type EdcRecordCommand,
} from '@tillbus/result-codes';
import { sendToBridge, type OutgoingCommand, type SendResult } from './bridge-link';
import { CLOCK, type Clock } from './clock';
import { EdcCommandConfig, recoveryBackoff } from './config';
import type { SubmitAndWaitRequest, SubmitCommandRequest } from '@tillbus/contracts/dto';
import { EdcError } from './errors';
import { BUCKETS, inDoubtKey, paramsHash, recordKey, shortHash } from './keys';
import {
  stepCancel,
  stepCommand,
  type BridgeTraffic,
  type CancelInput,
  type CommandInput,
  type MachineContext,
  type Note,
} from './machine';
import { EdcMetrics } from './metrics';
import {
  isDone,
  isSettled,
  RECORD_VERSION,
  viewOf,
  type StoredAlias,
  type StoredCancel,
  type StoredCommand,
  type StoredRecord,
} from './model';
import { BridgePresence } from './presence';
import { EventPublisher } from './publisher';
import {
  DeviceStore,
  RecordStore,
  WatchedKeys,
  type DeviceState,
  type Holder,
  type Written,
} from './stores';

export const EDC_CONFIG = Symbol('EDC_CONFIG');

/** A lock whose command record never appeared (the replica died between the two writes) is free after this. */
const ORPHAN_LOCK_MS = 60_000;
const PRESENCE_TICK_MS = 500;
const BEFORE_CARD_READ = ['sent', 'READY', 'CARD_DETECTED'];
const IN_FLIGHT = [
  'sent',
  'READY',
  'CARD_DETECTED',
  'CARD_READ_COMPLETED',
  'PENDING_SIGNATURE',
  'START_TRANSACTION',
];

/** What a refused dispatch means for the POS: nothing was started on the device. */
const REFUSALS: Partial<
  Record<
    BridgeAckStatus | 'no_responders',
    (deviceId: string, run?: string, detail?: string) => EdcError
  >
> = {
  busy: (deviceId, running) =>
    new EdcError(
      'DEVICE_BUSY',
      `device ${deviceId} is running a command tillbus did not send; nothing was started`,
      {
        deviceId,
        source: 'bridge',
        ...(running ? { runningRequestId: running } : {}),
      },
    ),
  not_ready: (deviceId, _run, detail) =>
    new EdcError(
      'DEVICE_NOT_READY',
      `the SDK is not initialised for device ${deviceId}; nothing was started`,
      {
        deviceId,
        ...(detail ? { init: detail } : {}),
      },
    ),
  unknown_device: (deviceId) =>
    new EdcError(
      'DEVICE_UNKNOWN',
      `the bridge does not drive device ${deviceId}; nothing was started`,
      { deviceId },
    ),
  expired: (deviceId) =>
    new EdcError(
      'BRIDGE_REFUSED',
      `the bridge of ${deviceId} received the command after its notAfter; nothing was started`,
      {
        deviceId,
        status: 'expired',
      },
    ),
  invalid: (deviceId, _run, detail) =>
    new EdcError(
      'BRIDGE_REFUSED',
      `the bridge of ${deviceId} could not read the command; nothing was started`,
      {
        deviceId,
        status: 'invalid',
        ...(detail ? { detail } : {}),
      },
    ),
  no_responders: (deviceId) =>
    new EdcError(
      'BRIDGE_OFFLINE',
      `no bridge is listening for device ${deviceId}; nothing was started`,
      { deviceId },
    ),
};

interface Owned {
  deviceId: string;
  requestId: string;
  cancelTimer?: () => void;
  wakeAt?: number;
}

/**
 * Runs KICC card commands: at most one in flight per device across replicas (a KV compare-and-set lock), the
 * seed's timeouts on an injectable clock, every bridge message applied to the record in KV, recovery of unknown
 * results with GetLastTransaction (a payment is never sent twice), and take-over of a dead replica's commands.
 */
@Injectable()
export class CommandEngine implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private records!: RecordStore;
  private devices!: DeviceStore;
  private owners!: WatchedKeys;
  private inDoubt!: WatchedKeys;
  private inDoubtKv!: KV;
  private ownersKv!: KV;
  private consumer?: DurableConsumer<JsMsg>;
  /** Where bridges' acks come back (sendToBridge): a store's leaf node may publish there and nowhere else of ours. */
  private readonly bridgeReplies: string;
  readonly presence: BridgePresence;
  private readonly publisher: EventPublisher;
  private readonly owned = new Map<string, Owned>();
  /** submit-and-wait requests in this replica, by record key. */
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly cancelTimers = new Map<string, () => void>();
  private readonly intervals: NodeJS.Timeout[] = [];
  private readonly lapsedOwners = new Set<string>();
  private readonly backoff: number[];
  private scanning?: Promise<void>;
  private rescan?: 'restart' | 'owner_lost' | 'periodic';
  private ready = false;
  private stopping = false;

  constructor(
    @Inject(EDC_CONFIG) private readonly config: EdcCommandConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly connection: NatsConnectionManager,
    private readonly setup: JetStreamSetup,
    private readonly logger: JsonLogger,
    private readonly metrics: EdcMetrics,
    private readonly busMetrics: BusMetrics,
    private readonly ops: OpsServer,
  ) {
    this.backoff = recoveryBackoff(config);
    this.bridgeReplies = `${connection.inboxPrefix}.bridge`;
    this.presence = new BridgePresence(config.EDC_PRESENCE_WARMUP_MS, logger, metrics);
    this.publisher = new EventPublisher(() => connection.jetstream(), logger, metrics);
    metrics.countBridges = () => this.presence.connectedBridges();
  }

  get replicaId(): string {
    return this.config.REPLICA_ID;
  }

  private get nc(): NatsConnection {
    return this.connection.connection;
  }

  // ---------------------------------------------------------------- start and stop

  async onApplicationBootstrap(): Promise<void> {
    this.ops.addReadinessCheck({
      name: 'edc-engine',
      check: () =>
        this.ready
          ? { ok: true }
          : { ok: false, detail: 'resuming commands and starting the bridge consumer' },
    });
    this.records = new RecordStore(this.setup.bucket(BUCKETS.commands), (written) =>
      this.afterWrite(written),
    );
    this.devices = new DeviceStore(this.setup.bucket(BUCKETS.devices));
    this.ownersKv = this.setup.bucket(BUCKETS.owners);
    this.inDoubtKv = this.setup.bucket(BUCKETS.inDoubt);
    this.owners = new WatchedKeys(this.ownersKv, undefined, true);
    this.inDoubt = new WatchedKeys(this.inDoubtKv);
    this.metrics.countInDoubt = () => this.inDoubt.countYoungerThan(this.config.EDC_RECORD_TTL_MS);
    await this.owners.start();
    await this.inDoubt.start();
    await this.renewLease();
    this.presence.start(this.nc);
    this.presence.onOnline((_bridgeId, devices) => this.bridgeBack(devices));
    await this.scan('restart');
    this.consumer = new DurableConsumer<JsMsg>(
      this.connection,
      {
        ...edcBridgeConsumer(this.config),
        backoffMs: [50, 250, 1_000, 5_000, 30_000],
        parse: (_body, msg) => msg,
        handle: (msg) => this.onBridgeMessage(msg),
      },
      this.logger,
      this.busMetrics,
    );
    await this.consumer.start();
    const every = (ms: number, task: () => Promise<void> | void) => {
      const interval = setInterval(() => {
        if (this.stopping) return;
        void Promise.resolve()
          .then(task)
          .catch((error: unknown) =>
            this.logger.event('error', 'background task failed', { error: String(error) }),
          );
      }, ms);
      interval.unref();
      this.intervals.push(interval);
    };
    every(Math.max(250, Math.floor(this.config.EDC_OWNER_LEASE_MS / 3)), () => this.renewLease());
    every(this.config.EDC_SWEEP_INTERVAL_MS, () => this.sweepOwners());
    if (this.config.EDC_FULL_SCAN_INTERVAL_MS > 0)
      every(this.config.EDC_FULL_SCAN_INTERVAL_MS, () => this.scan('periodic'));
    every(PRESENCE_TICK_MS, () => this.presenceTick());
    this.ready = true;
    this.logger.event('info', 'edc engine ready', {
      replicaId: this.replicaId,
      resumed: this.owned.size,
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.ready = false;
    for (const interval of this.intervals.splice(0)) clearInterval(interval);
    await this.consumer?.stop(this.config.SHUTDOWN_GRACE_MS);
    for (const owned of this.owned.values()) owned.cancelTimer?.();
    for (const cancel of this.cancelTimers.values()) cancel();
    this.presence.stop();
    this.owners?.stop();
    this.inDoubt?.stop();
    await this.publisher.settle(Math.min(5_000, this.config.SHUTDOWN_GRACE_MS));
    // hand the commands over at once instead of after the lease
    await this.ownersKv?.delete(this.replicaId).catch(() => undefined);
  }

  // ---------------------------------------------------------------- the bus API

  async get(deviceId: string, requestId: string): Promise<EdcCommandView> {
    const found = await this.readOn(deviceId, requestId);
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
        return await this.submitCancel(request, false);
      }
      return await this.submitCommand(request, beforeDispatch);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string') {
        this.metrics.rejections.inc({ code: labelCode(code) });
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
    const waiters = this.waiters.get(key) ?? new Set<() => void>();
    waiters.add(wake);
    this.waiters.set(key, waiters);
    let subscription: Subscription | undefined;
    const subscribe = () => {
      subscription ??= this.nc.subscribe(EVENT_SUBJECTS.edc(request.deviceId, request.requestId), {
        callback: (_error, msg) => {
          const decoded = decodeJsonPayload(msg.data, null);
          if (decoded.ok && (decoded.value as EdcPublicEvent | null)?.type === 'outcome') wake();
        },
      });
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
      waiters.delete(wake);
      if (waiters.size === 0) this.waiters.delete(key);
    }
  }

  // ---------------------------------------------------------------- Purchase, PurchaseCancel, GetLastTransaction

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
    if (request.targetRequestId) {
      throw new PayloadInvalidError(
        'invalid payload: targetRequestId: only CommandCancel takes it',
        {
          violations: [
            { field: 'payload.targetRequestId', problems: ['only CommandCancel takes it'] },
          ],
        },
      );
    }
    const params = await this.commandParams(request);
    const offline = this.presenceRefusal(deviceId);
    if (offline) {
      const existing = await this.records.read(key, { fresh: true });
      if (existing) return this.idempotent(existing.value, hash, deviceId);
      throw offline;
    }
    const now = this.clock.now();
    const holder = { requestId, commandName, since: now };
    const lock = await this.takeDevice(deviceId, key, holder, now);
    if (lock.kind === 'exists') return this.idempotent(lock.record, hash, deviceId);
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
    const record = this.newRecord(
      request,
      commandName,
      params,
      hash,
      lock.previous?.lastTransactionId ?? null,
      now,
    );
    const created = await this.records.create(key, record);
    if (!created.created) {
      const existing = created.existing;
      // a running command of this requestId on this device holds the lock too: it is its lock, not ours to free
      const itsLock =
        existing.kind === 'command' && existing.deviceId === deviceId && !isSettled(existing);
      if (!itsLock) await this.devices.release(deviceId, requestId, undefined, now);
      return this.idempotent(existing, hash, deviceId);
    }
    this.own(key, record);
    this.logger.event('info', 'command accepted', { deviceId, requestId, commandName });
    beforeDispatch?.();
    return this.dispatch(key, record, created.revision);
  }

  /** Validates the seed params, fills in requestId and, for a PurchaseCancel, the Purchase's acquirerMetaData. */
  private async commandParams(request: SubmitCommandRequest): Promise<Record<string, unknown>> {
    const params: Record<string, unknown> = { ...(request.params ?? {}) };
    const commandName = request.commandName;
    if (commandName === 'Purchase' || commandName === 'PurchaseCancel') {
      if (params.requestId !== undefined && params.requestId !== request.requestId) {
        throw invalidParams('requestId', 'must equal the requestId of the request, or be left out');
      }
      params.requestId = request.requestId;
    }
    if (request.purchase && commandName !== 'PurchaseCancel') {
      throw new PayloadInvalidError('invalid payload: purchase: only PurchaseCancel takes it', {
        violations: [{ field: 'payload.purchase', problems: ['only PurchaseCancel takes it'] }],
      });
    }
    if (commandName === 'PurchaseCancel' && request.purchase) {
      const acquirerInfo = (params.acquirerInfo ?? {}) as Record<string, unknown>;
      if (acquirerInfo.acquirerMetaData !== undefined) {
        throw invalidParams(
          'acquirerInfo.acquirerMetaData',
          'comes from the referenced purchase; leave it out',
        );
      }
      params.acquirerInfo = {
        ...acquirerInfo,
        acquirerMetaData: await this.purchaseMetaData(request),
      };
    }
    try {
      return { ...parseKiccCommandRequest(commandName, params) } as Record<string, unknown>;
    } catch (error) {
      if (!(error instanceof KiccProtocolError)) throw error;
      const details = (error.details ?? {}) as {
        violations?: { field: string; problems: string[] }[];
        paths?: string[];
      };
      if (error.code === 'CARD_DATA_REFUSED') {
        throw new PayloadInvalidError(
          'invalid payload: params carry card data, which may not reach a device',
          {
            violations: (details.paths ?? []).map((path) => ({
              field: `payload.params.${path}`,
              problems: ['card data is refused'],
            })),
          },
        );
      }
      const violations = (details.violations ?? []).map((v) => ({
        ...v,
        field: `payload.params.${v.field}`,
      }));
      throw new PayloadInvalidError(
        violations.length > 0
          ? `invalid payload: ${violations.map((v) => `${v.field}: ${v.problems.join(', ')}`).join('; ')}`
          : `invalid payload: params: ${error.message}`,
        {
          violations:
            violations.length > 0
              ? violations
              : [{ field: 'payload.params', problems: [error.message] }],
        },
      );
    }
  }

  private async purchaseMetaData(request: SubmitCommandRequest): Promise<string> {
    const ref = request.purchase!;
    const found = await this.readOn(ref.deviceId, ref.requestId);
    if (!found || found.value.kind !== 'command' || found.value.commandName !== 'Purchase') {
      throw new NotFoundError(`no Purchase ${ref.requestId} on device ${ref.deviceId}`, {
        purchase: ref,
      });
    }
    const purchase = found.value;
    const metaData = (purchase.result?.acquirerInfo as { acquirerMetaData?: unknown } | undefined)
      ?.acquirerMetaData;
    if (
      purchase.lifecycle.phase !== 'succeeded' ||
      typeof metaData !== 'string' ||
      metaData === ''
    ) {
      throw new EdcError(
        'ORDER_STATUS_INVALID',
        `Purchase ${ref.requestId} cannot be cancelled: it is ${purchase.lifecycle.phase}${purchase.lifecycle.phase === 'succeeded' ? ' without acquirerMetaData' : ''}`,
        { purchase: ref, phase: purchase.lifecycle.phase },
      );
    }
    return metaData;
  }

  private newRecord(
    request: SubmitCommandRequest,
    commandName: EdcRecordCommand,
    params: Record<string, unknown>,
    hash: string,
    previousTransactionId: string | null,
    now: number,
  ): StoredCommand {
    const timeoutMs = this.timeoutFor(commandName, params);
    const accepted = newEdcCommand({
      commandName,
      params,
      now,
      timeoutMs,
      maxRecoveryAttempts: this.config.EDC_RECOVERY_MAX_ATTEMPTS,
    });
    const sent = edcTransition(accepted, { type: 'dispatched', at: now });
    const lifecycle = sent.state;
    const base: StoredCommand = {
      v: RECORD_VERSION,
      kind: 'command',
      deviceId: request.deviceId,
      requestId: request.requestId,
      commandName,
      createdAt: now,
      updatedAt: now,
      owner: this.replicaId,
      paramsHash: hash,
      params,
      ...(request.purchase
        ? {
            purchase: {
              deviceId: request.purchase.deviceId,
              requestId: request.purchase.requestId,
            },
          }
        : {}),
      lifecycle,
      notAfter: now + this.config.EDC_DISPATCH_WINDOW_MS,
      lastSeq: 0,
      gaps: 0,
      previousTransactionId,
      anomalies: [],
      eventSeq: 1,
      outbox: [],
    };
    base.outbox = [
      {
        v: 1,
        seq: 1,
        at: now,
        deviceId: request.deviceId,
        requestId: request.requestId,
        commandName,
        type: 'phase',
        phase: 'sent',
        previousPhase: 'accepted',
      },
    ];
    return base;
  }

  /** The seed's timeouts, as configured (a Purchase above 50,000 KRW gets the signature timeout). */
  private timeoutFor(commandName: EdcRecordCommand, params: Record<string, unknown>): number {
    switch (commandName) {
      case 'Purchase': {
        const amount = params.paymentAmount as { value?: string; currency?: string } | undefined;
        const signature =
          amount?.currency !== 'KRW' ||
          !/^\d{1,15}$/.test(amount.value ?? '') ||
          Number(amount.value) > 50_000;
        return signature
          ? this.config.EDC_TIMEOUT_PURCHASE_SIGNATURE_MS
          : this.config.EDC_TIMEOUT_PURCHASE_MS;
      }
      case 'PurchaseCancel':
        return this.config.EDC_TIMEOUT_PURCHASE_CANCEL_MS;
      default:
        return this.config.EDC_TIMEOUT_GET_LAST_TRANSACTION_MS;
    }
  }

  /**
   * One payment per requestId across every device: the same requestId and params on the same device answer the
   * command; other params, or another device, are a conflicting reuse.
   */
  private idempotent(existing: StoredRecord, hash: string, deviceId: string): EdcCommandView {
    if (existing.deviceId !== deviceId) {
      throw new EdcError(
        'REPEAT_REQ_REJECT',
        `requestId ${existing.requestId} is already a command on device ${existing.deviceId}; a requestId names one payment on one device; nothing was started`,
        {
          deviceId: existing.deviceId,
          requestId: existing.requestId,
          submittedDeviceId: deviceId,
        },
      );
    }
    if (existing.kind === 'alias' || existing.paramsHash !== hash) {
      throw new EdcError(
        'REPEAT_REQ_REJECT',
        `requestId ${existing.requestId} was already used on device ${existing.deviceId} with other params; nothing was started`,
        { deviceId: existing.deviceId, requestId: existing.requestId },
      );
    }
    return viewOf(existing);
  }

  /** The record of `requestId` if it is a command on `deviceId`, read fresh. */
  private async readOn(
    deviceId: string,
    requestId: string,
  ): Promise<{ value: StoredRecord; revision: number } | null> {
    const found = await this.records.read(recordKey(requestId), { fresh: true });
    return found && found.value.deviceId === deviceId ? found : null;
  }

  /**
   * Takes the device lock for `holder`. DEVICE_BUSY only when another requestId holds it: a lock held by this
   * requestId belongs to this payment (an earlier submit of it, maybe on another replica), whose command is
   * answered; and every refusal is decided on the holder as KV has it after the failed take-over, never on a
   * cached one.
   */
  private async takeDevice(
    deviceId: string,
    key: string,
    holder: Holder,
    now: number,
  ): Promise<
    | { kind: 'taken'; previous: DeviceState | null }
    | { kind: 'exists'; record: StoredRecord }
    | { kind: 'busy'; holder: Holder | null }
  > {
    let running: Holder | null = null;
    for (let attempt = 1; attempt <= 4; attempt++) {
      const lock = await this.devices.acquire(deviceId, holder, now);
      if (lock.acquired) return { kind: 'taken', previous: lock.previous };
      const existing = await this.records.read(key, { fresh: true });
      if (existing) return { kind: 'exists', record: existing.value };
      if (lock.holder.requestId === holder.requestId) return this.joinLock(deviceId, key);
      // its command is over and its release was lost, or is on its way: take the device
      const over = await this.holderIsOver(deviceId, lock.holder);
      if (over) {
        const previous = await this.devices.takeOver(deviceId, holder, lock.revision, now);
        if (previous) return { kind: 'taken', previous };
      }
      // refused, or the take-over lost a race: look at the device afresh before saying busy
      const fresh = (await this.devices.read(deviceId)).state?.holder ?? null;
      if (fresh?.requestId === holder.requestId) return this.joinLock(deviceId, key);
      running = fresh;
      const unchanged =
        fresh?.requestId === lock.holder.requestId && fresh.since === lock.holder.since;
      if (unchanged && !over) break;
    }
    return { kind: 'busy', holder: running };
  }

  /**
   * An earlier submit of this requestId holds the device and is about to write its record: answer that command.
   * If the record never comes (that submit died between the two writes), the lock is this payment's: take it.
   */
  private async joinLock(
    deviceId: string,
    key: string,
  ): Promise<
    { kind: 'taken'; previous: DeviceState | null } | { kind: 'exists'; record: StoredRecord }
  > {
    for (let i = 0; i < 80; i++) {
      const found = await this.records.read(key, { fresh: true });
      if (found) return { kind: 'exists', record: found.value };
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return { kind: 'taken', previous: (await this.devices.read(deviceId)).state };
  }

  private presenceRefusal(deviceId: string): EdcError | null {
    const presence = this.presence.device(deviceId);
    if (presence.state === 'offline') {
      return new EdcError(
        'BRIDGE_OFFLINE',
        presence.bridgeId
          ? `bridge ${presence.bridgeId} of device ${deviceId} has sent no heartbeat for 3 intervals; nothing was started`
          : `no bridge has reported device ${deviceId}; nothing was started`,
        { deviceId, bridgeId: presence.bridgeId, lastHeartbeatAt: presence.lastHeartbeatAt },
      );
    }
    if (presence.state === 'online' && presence.init !== null && presence.init !== 'INIT_SUCCESS') {
      return new EdcError(
        'DEVICE_NOT_READY',
        `the SDK for device ${deviceId} reports ${presence.init}; nothing was started`,
        {
          deviceId,
          bridgeId: presence.bridgeId,
          init: presence.init,
        },
      );
    }
    return null;
  }

  /** The holder's command is over, or never got a record: its release was lost. */
  private async holderIsOver(
    deviceId: string,
    holder: { requestId: string; since: number },
  ): Promise<boolean> {
    const found = await this.records.read(recordKey(holder.requestId), { fresh: true });
    if (!found) return this.clock.now() - holder.since > ORPHAN_LOCK_MS;
    // the requestId is another device's command: this lock's submit lost the record and is letting go
    if (found.value.deviceId !== deviceId) return true;
    return found.value.kind !== 'command' || isSettled(found.value);
  }

  private command(record: StoredCommand): OutgoingCommand {
    return {
      deviceId: record.deviceId,
      requestId: record.requestId,
      commandName: record.commandName,
      commandRequestParams: record.params,
      notAfter: record.notAfter,
    };
  }

  /**
   * Sends the command and reads the ack. A refusal before anything started removes the record and frees the
   * device, so the same requestId may be used again; no ack means "maybe", so the same command goes out again
   * (the bridge dedupes it) until notAfter, and the deadline decides the rest.
   */
  private async dispatch(
    key: string,
    record: StoredCommand,
    revision: number,
  ): Promise<EdcCommandView> {
    let sent: SendResult;
    try {
      sent = await sendToBridge(
        this.nc,
        this.command(record),
        this.clock.now(),
        this.config.EDC_ACK_TIMEOUT_MS,
        this.bridgeReplies,
      );
    } catch (error) {
      this.logger.event('warn', 'could not send a command to its bridge', {
        deviceId: record.deviceId,
        requestId: record.requestId,
        error: String(error),
      });
      sent = { kind: 'no_ack' };
    }
    const refusal = refusalOf(sent);
    if (refusal) {
      const error = REFUSALS[refusal.status]!(
        record.deviceId,
        refusal.runningRequestId,
        refusal.detail,
      );
      if (refusal.status === 'busy') this.metrics.busyRejections.inc({ source: 'bridge' });
      if (await this.records.remove(key, revision)) {
        this.disown(key);
        await this.devices.release(record.deviceId, record.requestId, undefined, this.clock.now());
        this.logger.event('info', 'command refused before it started', {
          deviceId: record.deviceId,
          requestId: record.requestId,
          status: refusal.status,
        });
        throw error;
      }
      // something already moved the record: keep it, and record the refusal in it
      await this.apply(key, { type: 'refused', code: refusal.status });
      throw error;
    }
    void this.publisher.publish(record.outbox);
    if (sent.kind !== 'ack') {
      if (sent.kind === 'bad_ack')
        this.logger.event('warn', 'unreadable ack', {
          deviceId: record.deviceId,
          reason: sent.reason,
        });
      void this.resendUntilAcked(key, this.command(record));
    }
    return viewOf(record);
  }

  /** The same command, again, until an ack says what happened or notAfter passes. */
  private async resendUntilAcked(key: string, command: OutgoingCommand): Promise<void> {
    while (!this.stopping && this.clock.now() < command.notAfter) {
      const found = await this.records.read(key);
      const record = found?.value;
      if (
        !record ||
        record.kind !== 'command' ||
        record.lifecycle.phase !== 'sent' ||
        record.lastSeq > 0
      )
        return;
      let sent: SendResult;
      try {
        sent = await sendToBridge(
          this.nc,
          command,
          this.clock.now(),
          this.config.EDC_ACK_TIMEOUT_MS,
          this.bridgeReplies,
        );
      } catch {
        sent = { kind: 'no_ack' };
      }
      if (sent.kind === 'ack') {
        const refusal = refusalOf(sent);
        if (refusal) await this.apply(key, { type: 'refused', code: refusal.status });
        return;
      }
      if (sent.kind === 'no_responders')
        await new Promise((resolve) => setTimeout(resolve, this.config.EDC_ACK_TIMEOUT_MS));
    }
  }

  // ---------------------------------------------------------------- CommandCancel

  private async submitCancel(
    request: SubmitCommandRequest,
    auto: boolean,
  ): Promise<EdcCommandView> {
    const { deviceId, requestId } = request;
    if (request.purchase) {
      throw new PayloadInvalidError('invalid payload: purchase: only PurchaseCancel takes it', {
        violations: [{ field: 'payload.purchase', problems: ['only PurchaseCancel takes it'] }],
      });
    }
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
    if (existing) return this.idempotent(existing.value, hash, deviceId);
    const targetId =
      request.targetRequestId ?? (await this.devices.read(deviceId)).state?.holder?.requestId;
    if (!targetId)
      throw new EdcError('NOT_RUNNING', `no command is running on device ${deviceId}`, {
        deviceId,
      });
    const targetKey = recordKey(targetId);
    const found = await this.readOn(deviceId, targetId);
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
    if (!check.ok) throw this.cancelRefusal(target, check.reason);
    const cancel: StoredCancel = {
      v: RECORD_VERSION,
      kind: 'cancel',
      deviceId,
      requestId,
      commandName: 'CommandCancel',
      createdAt: now,
      updatedAt: now,
      owner: this.replicaId,
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
      outbox: [],
    };
    const created = await this.records.create(key, cancel);
    if (!created.created) return this.idempotent(created.existing, hash, deviceId);
    const requested = await this.apply(targetKey, {
      type: 'cancel_requested',
      cancelRequestId: requestId,
    });
    if (!requested.changed) {
      const reason = requested.notes.find((note) => note.kind === 'not_cancellable');
      await this.applyCancel(key, { type: 'refused', code: 'CommandInvalid' });
      throw this.cancelRefusal(
        requested.record ?? target,
        reason?.kind === 'not_cancellable' ? reason.reason : 'the command moved on',
      );
    }
    this.watchCancel(key, cancel.deadlineAt);
    this.logger.event('info', 'CommandCancel sent', {
      deviceId,
      requestId,
      targetRequestId: targetId,
      auto,
    });
    let sent: SendResult;
    try {
      sent = await sendToBridge(
        this.nc,
        {
          deviceId,
          requestId,
          commandName: 'CommandCancel',
          commandRequestParams: {},
          notAfter: cancel.notAfter,
          targetRequestId: targetId,
        },
        this.clock.now(),
        this.config.EDC_ACK_TIMEOUT_MS,
        this.bridgeReplies,
      );
    } catch {
      sent = { kind: 'no_ack' };
    }
    const refusal =
      sent.kind === 'ack'
        ? sent.status === 'accepted' || sent.status === 'duplicate'
          ? null
          : sent.status
        : sent.kind === 'no_responders'
          ? 'no_responders'
          : null;
    if (refusal) {
      const done = await this.applyCancel(key, { type: 'refused', code: refusal });
      await this.apply(targetKey, {
        type: 'cancel_result',
        cancelRequestId: requestId,
        confirmed: false,
        code: refusal,
      });
      return viewOf(done.record ?? cancel);
    }
    const latest = await this.records.read(key);
    return viewOf((latest?.value as StoredCancel | undefined) ?? cancel);
  }

  private cancelRefusal(target: StoredCommand, reason: string): EdcError {
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
    if (!BEFORE_CARD_READ.includes(phase) && !IN_FLIGHT.includes(phase)) {
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

  private watchCancel(key: string, at: number): void {
    this.cancelTimers.get(key)?.();
    this.cancelTimers.set(
      key,
      this.clock.schedule(at, () => {
        this.cancelTimers.delete(key);
        void this.cancelDeadline(key).catch((error: unknown) =>
          this.logger.event('error', 'CommandCancel deadline failed', { error: String(error) }),
        );
      }),
    );
  }

  private async cancelDeadline(key: string): Promise<void> {
    const done = await this.applyCancel(key, { type: 'deadline' });
    const cancel = done.record;
    if (!done.changed || !cancel) return;
    await this.apply(recordKey(cancel.targetRequestId), {
      type: 'cancel_result',
      cancelRequestId: cancel.requestId,
      confirmed: false,
      code: 'CommandResponseTimeout',
    });
  }

  // ---------------------------------------------------------------- bridge traffic

  async onBridgeMessage(msg: JsMsg): Promise<void> {
    let message;
    try {
      const read = readBridgeMessage(msg.data, { subject: msg.subject });
      message = read.message;
      this.reportUnrecognised(read, msg.subject);
    } catch (error) {
      const code = error instanceof KiccProtocolError ? error.code : 'INVALID_MESSAGE';
      this.metrics.bridgeMessages.inc({
        type: 'unknown',
        result: code === 'CARD_DATA_REFUSED' ? 'card_data_refused' : 'invalid',
      });
      // paths and codes only: the refused message may hold what must never be logged
      this.logger.event('warn', 'refused a bridge message', {
        subject: msg.subject,
        code,
        ...(error instanceof KiccProtocolError && error.details ? { details: error.details } : {}),
      });
      return;
    }
    if (message.type !== 'event' && message.type !== 'result') {
      this.metrics.bridgeMessages.inc({ type: message.type, result: 'invalid' });
      return;
    }
    await this.applyBridgeMessage(message);
  }

  /** Codes a newer bridge sent that this version does not know: the message is used, the values reported. */
  private reportUnrecognised(read: ReadBridgeMessage, subject: string): void {
    if (read.unrecognised.length === 0) return;
    for (const { field } of read.unrecognised) {
      this.metrics.bridgeUnrecognised.inc({
        type: read.message.type,
        field: field.replace(/\[\d+\]/g, '[]'),
      });
    }
    // codes only (schema paths and short vendor codes), never a body
    this.logger.event('warn', 'a bridge message carries values this version does not know', {
      subject,
      type: read.message.type,
      unrecognised: read.unrecognised.map(({ field, value }) => ({
        field,
        value: String(value).slice(0, 64),
      })),
    });
  }

  async applyBridgeMessage(message: BridgeTraffic): Promise<void> {
    const key = recordKey(message.requestId);
    const found = await this.records.read(key);
    // a requestId names one command on one device: traffic from another device is not that command's
    const record = found?.value.deviceId === message.deviceId ? found.value : undefined;
    if (!record) {
      this.metrics.bridgeMessages.inc({ type: message.type, result: 'unknown_command' });
      this.logger.event('warn', 'bridge traffic for a command tillbus does not know', {
        deviceId: message.deviceId,
        requestId: message.requestId,
        commandName: message.commandName,
        type: message.type,
      });
      return;
    }
    let notes: Note[] = [];
    if (record.kind === 'command') {
      notes = (await this.apply(key, { type: 'bridge', message })).notes;
    } else if (record.kind === 'alias') {
      notes = (
        await this.apply(recordKey(record.aliasOf), {
          type: 'recovery_message',
          message,
        })
      ).notes;
    } else {
      const done = await this.applyCancel(key, { type: 'bridge', message });
      notes = done.notes;
      if (done.changed && done.record && done.record.phase !== 'sent') {
        await this.apply(recordKey(record.targetRequestId), {
          type: 'cancel_result',
          cancelRequestId: record.requestId,
          confirmed: done.record.phase === 'succeeded',
          code: done.record.code ?? undefined,
        });
      }
    }
    const result = notes.some((n) => n.kind === 'duplicate')
      ? 'duplicate'
      : notes.some((n) => n.kind === 'stale')
        ? 'stale'
        : notes.some((n) => n.kind === 'gap')
          ? 'gap'
          : 'applied';
    this.metrics.bridgeMessages.inc({ type: message.type, result });
  }

  // ---------------------------------------------------------------- writes and their effects

  private ctx(): MachineContext {
    return {
      at: this.clock.now(),
      replicaId: this.replicaId,
      withoutRequestId: this.config.EDC_RECOVERY_WITHOUT_REQUEST_ID,
      recoveryBackoffMs: this.backoff,
    };
  }

  private applyCancel(key: string, input: CancelInput) {
    return this.records.mutate<StoredCancel>(key, (current) => {
      if (current.kind !== 'cancel') return { record: current, changed: false, notes: [] };
      return stepCancel(current, input, this.ctx());
    });
  }

  private apply(key: string, input: CommandInput) {
    return this.records.mutate<StoredCommand>(key, (current) => {
      if (current.kind !== 'command')
        return {
          record: current,
          changed: false,
          notes: [{ kind: 'stale', reason: 'not a command' }],
        };
      return stepCommand(current, input, this.ctx());
    });
  }

  /** Runs once per successful write: timers, the device lock, the in-doubt index, metrics, then the events. */
  private async afterWrite({ key, before, after, notes }: Written): Promise<void> {
    for (const note of notes) this.noteMetrics(after, note);
    if (after.kind === 'cancel') {
      if (after.phase !== 'sent') {
        this.cancelTimers.get(key)?.();
        this.cancelTimers.delete(key);
        if (this.waiters.has(key)) this.wake(key);
      }
      void this.publisher.publish(after.outbox);
      return;
    }
    if (after.kind !== 'command' || before.kind !== 'command') return;
    const now = this.clock.now();
    const wasSettled = isSettled(before);
    const settled = isSettled(after);
    if (settled) this.disown(key);
    else if (after.owner === this.replicaId) this.own(key, after);
    else this.disown(key);
    const phaseChanged = before.lifecycle.phase !== after.lifecycle.phase;
    if (wasSettled && !settled) {
      this.logger.event('warn', 'a settled command moved back', {
        deviceId: after.deviceId,
        requestId: after.requestId,
      });
    }
    // a waiting submit-and-wait answers first (the record is stored), then the events go out. A submit that races
    // the device release finds the holder settled and takes the device (submitCommand), so a POS never sees
    // DEVICE_BUSY because of a command it saw finish.
    if (this.waiters.has(key) && isDone(viewOf(after))) this.wake(key);
    void this.publisher.publish(after.outbox);
    if (settled && (!wasSettled || phaseChanged)) {
      try {
        await this.settle(after, before, now);
      } catch (error) {
        // the record is right; the next scan frees the device and fixes the index (scanOnce)
        this.logger.event('error', 'could not finish settling a command', {
          deviceId: after.deviceId,
          requestId: after.requestId,
          error: String(error),
        });
      }
    }
  }

  private wake(key: string): void {
    for (const wake of this.waiters.get(key) ?? []) wake();
  }

  private async settle(after: StoredCommand, before: StoredCommand, now: number): Promise<void> {
    const life = after.lifecycle;
    const outcome = edcOutcome(life) ?? 'UNKNOWN';
    if (!isSettled(before)) {
      this.metrics.commands.inc({ command: after.commandName, outcome });
      this.metrics.duration.observe(
        { command: after.commandName },
        Math.max(0, (life.finishedAt ?? now) - life.acceptedAt) / 1000,
      );
    } else if (before.lifecycle.phase !== life.phase) {
      this.metrics.lateResults.inc({ command: after.commandName, outcome });
    }
    await this.releaseDevice(after, now);
    const key = inDoubtKey(after.deviceId, after.requestId);
    if (life.phase === 'in_doubt') {
      await this.inDoubtKv.put(key, JSON.stringify({ at: now }));
      this.logger.event('warn', 'command in doubt: an operator must check it with KICC', {
        deviceId: after.deviceId,
        requestId: after.requestId,
        commandName: after.commandName,
        reason: after.recovery?.reason ?? life.unknownCause,
      });
    } else if (before.lifecycle.phase === 'in_doubt') {
      await this.inDoubtKv.delete(key).catch(() => undefined);
    }
    if (after.cancelRequestId && before.lifecycle.cancel?.status === 'pending') {
      await this.applyCancel(recordKey(after.cancelRequestId), {
        type: 'target_settled',
        cancelled: life.phase === 'cancelled',
        phase: life.phase,
      });
    }
    this.logger.event(
      life.phase === 'succeeded' || life.phase === 'cancelled' ? 'info' : 'warn',
      'command outcome',
      {
        deviceId: after.deviceId,
        requestId: after.requestId,
        commandName: after.commandName,
        phase: life.phase,
        outcome,
        resolution: life.resolution,
        ...(life.failure ? { failure: life.failure } : {}),
        ...(life.contradicted ? { contradicted: life.contradicted } : {}),
      },
    );
  }

  /**
   * Frees the device if this command still holds it, recording the transaction it left behind: the id of a
   * payment that succeeded, unknown (null) after one in doubt, unchanged otherwise.
   */
  private async releaseDevice(record: StoredCommand, now: number): Promise<void> {
    const life = record.lifecycle;
    const payment = kiccCommandKind(record.commandName) === 'payment';
    const transactionId = (
      record.result?.acquirerInfo as { acquirerTransactionId?: unknown } | undefined
    )?.acquirerTransactionId;
    let lastTransactionId: string | null | undefined;
    if (payment && life.phase === 'succeeded') {
      lastTransactionId = typeof transactionId === 'string' && transactionId ? transactionId : null;
    } else if (payment && life.phase === 'in_doubt') {
      lastTransactionId = null;
    }
    await this.devices.release(record.deviceId, record.requestId, lastTransactionId, now);
  }

  private noteMetrics(record: StoredRecord, note: Note): void {
    const command = record.commandName;
    switch (note.kind) {
      case 'timeout':
        this.metrics.timeouts.inc({ command, cause: note.cause });
        this.logger.event('warn', 'command result unknown; recovery follows', {
          deviceId: record.deviceId,
          requestId: record.requestId,
          commandName: command,
          cause: note.cause,
        });
        return;
      case 'recovery':
        this.metrics.recoveries.inc({ result: note.result });
        this.logger.event('info', 'recovery', {
          deviceId: record.deviceId,
          requestId: record.requestId,
          result: note.result,
          reason: note.reason,
        });
        return;
      case 'cancel':
        this.metrics.cancels.inc({ result: note.result });
        return;
      case 'refused':
        this.metrics.anomalies.inc({ kind: 'refused_transition' });
        this.logger.event('warn', 'refused a transition', {
          deviceId: record.deviceId,
          requestId: record.requestId,
          reason: note.reason,
        });
        return;
      case 'contradicted':
        this.metrics.anomalies.inc({ kind: 'contradicted' });
        return;
      default:
        return;
    }
  }

  // ---------------------------------------------------------------- timers

  private own(key: string, record: StoredCommand): void {
    let owned = this.owned.get(key);
    if (!owned) {
      owned = { deviceId: record.deviceId, requestId: record.requestId };
      this.owned.set(key, owned);
      this.metrics.owned.set(this.owned.size);
    }
    const wakeAt = this.wakeAt(record);
    if (wakeAt === owned.wakeAt) return;
    owned.cancelTimer?.();
    owned.wakeAt = wakeAt ?? undefined;
    owned.cancelTimer =
      wakeAt === null
        ? undefined
        : this.clock.schedule(wakeAt, () => {
            const current = this.owned.get(key);
            if (current) current.wakeAt = undefined;
            void this.tick(key).catch((error: unknown) =>
              this.logger.event('error', 'command timer failed', { key, error: String(error) }),
            );
          });
  }

  private disown(key: string): void {
    const owned = this.owned.get(key);
    if (!owned) return;
    owned.cancelTimer?.();
    this.owned.delete(key);
    this.metrics.owned.set(this.owned.size);
  }

  /** The one moment this command needs attention next: its deadline, the card countdown, or its next recovery. */
  private wakeAt(record: StoredCommand): number | null {
    const life = record.lifecycle;
    const times: number[] = [];
    if (life.deadlineAt !== null && (IN_FLIGHT.includes(life.phase) || life.phase === 'recovering'))
      times.push(life.deadlineAt);
    if (this.autoCancelDue(record) !== null) times.push(this.autoCancelDue(record)!);
    if (life.phase === 'timed_out' && record.recovery?.nextAt != null)
      times.push(record.recovery.nextAt);
    return times.length > 0 ? Math.min(...times) : null;
  }

  private autoCancelDue(record: StoredCommand): number | null {
    const life = record.lifecycle;
    if (!this.config.EDC_AUTO_CANCEL_ON_EXPIRY || record.commandName !== 'Purchase') return null;
    if (life.countdownEndsAt === null || life.cancel !== null || record.cancelRequestId)
      return null;
    return life.phase === 'READY' || life.phase === 'CARD_DETECTED' ? life.countdownEndsAt : null;
  }

  private async tick(key: string): Promise<void> {
    if (this.stopping || !this.owned.has(key)) return;
    const found = await this.records.read(key);
    const record = found?.value;
    if (!record || record.kind !== 'command' || isSettled(record)) return this.disown(key);
    if (record.owner !== this.replicaId) return this.disown(key);
    const now = this.clock.now();
    const life = record.lifecycle;
    const autoCancelAt = this.autoCancelDue(record);
    if (
      life.deadlineAt !== null &&
      now >= life.deadlineAt &&
      (IN_FLIGHT.includes(life.phase) || life.phase === 'recovering')
    ) {
      await this.apply(key, { type: 'deadline' });
    } else if (autoCancelAt !== null && now >= autoCancelAt) {
      await this.autoCancel(record);
    } else if (
      life.phase === 'timed_out' &&
      record.recovery?.nextAt != null &&
      now >= record.recovery.nextAt
    ) {
      await this.recover(key, record);
    }
    const latest = await this.records.read(key);
    if (
      latest?.value.kind === 'command' &&
      !isSettled(latest.value) &&
      latest.value.owner === this.replicaId
    ) {
      this.own(key, latest.value);
    }
  }

  /** The card countdown (`paymentExpiryTime`) ended before the card was read: cancel, which is safe before a read. */
  private async autoCancel(record: StoredCommand): Promise<void> {
    const cancelId = `auto-${shortHash(record.deviceId, record.requestId)}`;
    this.logger.event(
      'info',
      'card countdown ended before the card was read; sending CommandCancel',
      { deviceId: record.deviceId, requestId: record.requestId },
    );
    try {
      await this.submitCancel(
        {
          deviceId: record.deviceId,
          requestId: cancelId,
          commandName: 'CommandCancel',
          params: {},
          targetRequestId: record.requestId,
        },
        true,
      );
    } catch (error) {
      this.logger.event('info', 'automatic CommandCancel not sent', {
        deviceId: record.deviceId,
        requestId: record.requestId,
        code: (error as { code?: string }).code,
      });
    }
  }

  // ---------------------------------------------------------------- recovery

  private async recover(key: string, record: StoredCommand): Promise<void> {
    const now = this.clock.now();
    const presence = this.presence.device(record.deviceId);
    if (presence.state === 'offline') {
      const offlineSince = record.recovery?.offlineSince ?? now;
      if (now - offlineSince < this.config.EDC_RECOVERY_OFFLINE_WAIT_MS) {
        // the bridge coming back wakes it (bridgeBack); until then look again now and then
        const nextAt = Math.min(
          offlineSince + this.config.EDC_RECOVERY_OFFLINE_WAIT_MS,
          now + 5_000,
        );
        await this.apply(key, { type: 'recovery_wait', nextAt, offlineSince });
        return;
      }
    }
    const attempt = record.lifecycle.recoveryAttempts + 1;
    let gltId = `glt-${attempt}-${shortHash(record.deviceId, record.requestId)}`;
    const alias: StoredAlias = {
      v: RECORD_VERSION,
      kind: 'alias',
      deviceId: record.deviceId,
      requestId: gltId,
      commandName: 'GetLastTransaction',
      aliasOf: record.requestId,
      createdAt: now,
      updatedAt: now,
      owner: this.replicaId,
    };
    const created = await this.records.create(recordKey(gltId), alias);
    if (
      !created.created &&
      (created.existing.kind !== 'alias' || created.existing.aliasOf !== record.requestId)
    ) {
      // a POS used this id for a command of its own: pick another
      gltId = `${gltId}-${shortHash(gltId, String(now)).slice(0, 8)}`;
      await this.records.create(recordKey(gltId), { ...alias, requestId: gltId });
    }
    const notAfter = now + this.config.EDC_DISPATCH_WINDOW_MS;
    const started = await this.apply(key, { type: 'recovery_started', requestId: gltId, notAfter });
    if (!started.changed) return;
    await this.sendRecovery(key, record.deviceId, record.requestId, gltId, notAfter);
  }

  private async sendRecovery(
    key: string,
    deviceId: string,
    requestId: string,
    gltId: string,
    notAfter: number,
  ): Promise<void> {
    let sent: SendResult;
    try {
      sent = await sendToBridge(
        this.nc,
        {
          deviceId,
          requestId: gltId,
          commandName: 'GetLastTransaction',
          commandRequestParams: {},
          notAfter,
          recoveryOf: requestId,
        },
        this.clock.now(),
        this.config.EDC_ACK_TIMEOUT_MS,
        this.bridgeReplies,
      );
    } catch {
      sent = { kind: 'no_ack' };
    }
    const refusal = refusalOf(sent);
    if (refusal)
      await this.apply(key, { type: 'recovery_refused', requestId: gltId, code: refusal.status });
  }

  /** A bridge is back: recoveries waiting for it start now. */
  private bridgeBack(devices: string[]): void {
    const set = new Set(devices);
    for (const [key, owned] of this.owned) {
      if (!set.has(owned.deviceId)) continue;
      void (async () => {
        const found = await this.records.read(key);
        const record = found?.value;
        if (record?.kind !== 'command' || record.lifecycle.phase !== 'timed_out') return;
        await this.apply(key, {
          type: 'recovery_wait',
          nextAt: this.clock.now(),
          offlineSince: null,
        });
      })().catch((error: unknown) =>
        this.logger.event('error', 'could not resume a recovery', { error: String(error) }),
      );
    }
  }

  /** Commands in flight whose bridge went silent: their result is unknown from now on. */
  private async presenceTick(): Promise<void> {
    for (const [key, owned] of this.owned) {
      if (!this.presence.isLost(owned.deviceId)) continue;
      const found = await this.records.read(key);
      const record = found?.value;
      if (record?.kind !== 'command' || !IN_FLIGHT.includes(record.lifecycle.phase)) continue;
      await this.apply(key, { type: 'bridge_lost' });
    }
  }

  // ---------------------------------------------------------------- owners and take-over

  private async renewLease(): Promise<void> {
    await this.ownersKv.put(this.replicaId, JSON.stringify({ at: Date.now() }));
  }

  private isLive(owner: string): boolean {
    if (owner === this.replicaId) return true;
    const seen = this.owners.seenAt.get(owner);
    return seen !== undefined && Date.now() - seen <= this.config.EDC_OWNER_LEASE_MS;
  }

  /** An owner whose lease lapsed since the last look: take its commands. */
  private async sweepOwners(): Promise<void> {
    let lapsed = false;
    for (const owner of this.owners.seenAt.keys()) {
      if (this.isLive(owner)) {
        this.lapsedOwners.delete(owner);
      } else if (!this.lapsedOwners.has(owner)) {
        this.lapsedOwners.add(owner);
        lapsed = true;
      }
    }
    if (lapsed) await this.scan('owner_lost');
  }

  /**
   * Every device lock: a command of this replica it does not run yet is resumed (after a restart), a dead
   * replica's is taken over, a finished one whose release was lost frees its device.
   */
  scan(reason: 'restart' | 'owner_lost' | 'periodic'): Promise<void> {
    if (this.scanning) {
      // a pass already running may have gone past the commands this one is for: run once more after it
      this.rescan = reason;
      return this.scanning;
    }
    this.scanning = this.scanOnce(reason).finally(() => {
      this.scanning = undefined;
      const again = this.rescan;
      this.rescan = undefined;
      if (again && !this.stopping) void this.scan(again);
    });
    return this.scanning;
  }

  private async scanOnce(reason: 'restart' | 'owner_lost' | 'periodic'): Promise<void> {
    for (const deviceId of await this.devices.keys()) {
      if (this.stopping) return;
      const { state } = await this.devices.read(deviceId);
      const holder = state?.holder;
      if (!holder) continue;
      const key = recordKey(holder.requestId);
      const found = await this.readOn(deviceId, holder.requestId);
      if (!found) {
        // no record, or the requestId is another device's: a submit took the lock and never wrote its record
        if (this.clock.now() - holder.since > ORPHAN_LOCK_MS)
          await this.devices.release(deviceId, holder.requestId, undefined, this.clock.now());
        continue;
      }
      const record = found.value;
      if (record.kind !== 'command') continue;
      if (isSettled(record)) {
        // its writer died before freeing the device: do it, and publish its last events again
        if (!this.isLive(record.owner) || record.owner === this.replicaId) {
          await this.releaseDevice(record, this.clock.now());
          if (record.lifecycle.phase === 'in_doubt')
            await this.inDoubtKv.put(
              inDoubtKey(deviceId, holder.requestId),
              JSON.stringify({ at: this.clock.now() }),
            );
          void this.publisher.publish(record.outbox);
        }
        continue;
      }
      if (record.owner === this.replicaId && !this.owned.has(key))
        await this.adopt(key, record.owner, 'restart');
      else if (record.owner !== this.replicaId && !this.isLive(record.owner))
        await this.adopt(key, record.owner, 'owner_lost');
    }
    if (reason !== 'periodic')
      this.logger.event('info', 'scanned device locks', { reason, owned: this.owned.size });
  }

  private async adopt(
    key: string,
    previousOwner: string,
    reason: 'restart' | 'owner_lost',
  ): Promise<void> {
    const taken = await this.records.mutate<StoredCommand>(key, (current) => {
      if (current.kind !== 'command' || current.owner !== previousOwner || isSettled(current)) {
        return { record: current, changed: false, notes: [] };
      }
      return stepCommand(current, { type: 'take_over' }, this.ctx());
    });
    const record = taken.record;
    if (
      !record ||
      record.kind !== 'command' ||
      isSettled(record) ||
      record.owner !== this.replicaId
    )
      return;
    if (reason === 'owner_lost' && !taken.changed) return;
    this.metrics.adoptions.inc({ reason });
    this.own(key, record);
    this.logger.event('info', 'took over a command', {
      deviceId: record.deviceId,
      requestId: record.requestId,
      phase: record.lifecycle.phase,
      reason,
      previousOwner,
    });
    void this.publisher.publish(record.outbox);
    const now = this.clock.now();
    // the dead owner may have died before the command reached the bridge: send it again (the bridge dedupes)
    if (record.lifecycle.phase === 'sent' && record.lastSeq === 0 && now < record.notAfter) {
      void this.resendUntilAcked(key, this.command(record));
    }
    const recovery = record.recovery;
    if (record.lifecycle.phase === 'recovering' && recovery && now < recovery.notAfter) {
      void this.sendRecovery(
        key,
        record.deviceId,
        record.requestId,
        recovery.requestId,
        recovery.notAfter,
      );
    }
    await this.tick(key);
  }

  /** For tests and diagnostics. */
  ownedCount(): number {
    return this.owned.size;
  }
}

function refusalOf(sent: SendResult): {
  status: BridgeAckStatus | 'no_responders';
  runningRequestId?: string;
  detail?: string;
} | null {
  if (sent.kind === 'no_responders') return { status: 'no_responders' };
  if (sent.kind !== 'ack' || sent.status === 'accepted' || sent.status === 'duplicate') return null;
  return { status: sent.status, runningRequestId: sent.runningRequestId, detail: sent.detail };
}

function invalidParams(field: string, problem: string): PayloadInvalidError {
  const path = field === '(root)' ? 'payload.params' : `payload.params.${field}`;
  return new PayloadInvalidError(`invalid payload: ${path}: ${problem}`, {
    violations: [{ field: path, problems: [problem] }],
  });
}

const KNOWN_CODES = new Set<string>([
  'PARAM_ILLEGAL',
  'NOT_FOUND',
  'UNAVAILABLE',
  'DEVICE_BUSY',
  'REPEAT_REQ_REJECT',
  'BRIDGE_OFFLINE',
  'DEVICE_NOT_READY',
  'DEVICE_UNKNOWN',
  'BRIDGE_REFUSED',
  'CommandInvalid',
  'NOT_RUNNING',
  'ORDER_STATUS_INVALID',
]);

function labelCode(code: string): string {
  return KNOWN_CODES.has(code) ? code : 'OTHER';
}
