import type { EdcCommandView, EdcPublicEvent, PurchaseRef } from '@tillbus/contracts';
import { redactKiccResult } from '@tillbus/protocols-kicc';
import {
  EDC_CANCEL_PHASES,
  EDC_PHASES,
  edcCancelOutcome,
  edcOutcome,
  isEdcSettled,
  type EdcCancelPhase,
  type EdcCommandRecord,
  type EdcPhase,
  type EdcRecordCommand,
} from '@tillbus/result-codes';
import type { LastTransactionBaseline } from './baseline';
import type { StoredSettlement } from './settlement';

export const RECORD_VERSION = 1;

interface StoredBase {
  v: typeof RECORD_VERSION;
  deviceId: string;
  requestId: string;
  createdAt: number;
  updatedAt: number;
  /** The replica that runs this command's timers; whoever writes a bridge message into it takes it over. */
  owner: string;
}

/**
 * The command's public events not yet known to be in TILLBUS_EDC: the durable outbox (see EventPublisher). Every
 * change appends its events; a write drops those the writer knows the stream acked and moves `publishedThrough`
 * on, so an event that could not be published stays here, for the writer's retries and for whoever takes over,
 * until the stream has it. Trimming rides on writes that happen anyway: never a KV write of its own.
 */
export interface WithEvents {
  eventSeq: number;
  outbox: EdcPublicEvent[];
  /** Every event up to this seq is in the stream. Absent in records written before it existed. */
  publishedThrough?: number;
}

/** The events up to this seq are in the stream (a record without the mark kept only its last change's events). */
export function publishedThroughOf(record: WithEvents): number {
  return record.publishedThrough ?? record.eventSeq - record.outbox.length;
}

/** `record` without the events up to `ackedThrough`, as the next write starts from it. */
export function trimOutbox<T extends WithEvents>(record: T, ackedThrough: number): T {
  const through = Math.min(record.eventSeq, Math.max(publishedThroughOf(record), ackedThrough));
  if (through === record.publishedThrough) return record;
  return {
    ...record,
    publishedThrough: through,
    outbox: record.outbox.filter((event) => event.seq > through),
  };
}

/** A Purchase, PurchaseCancel or stand-alone GetLastTransaction: the lifecycle of result-codes plus what it needs. */
export interface StoredCommand extends StoredBase, WithEvents {
  kind: 'command';
  commandName: EdcRecordCommand;
  paramsHash: string;
  /** `commandRequestParams` as sent. Private: a PurchaseCancel's carries acquirerMetaData. */
  params: Record<string, unknown>;
  purchase?: PurchaseRef;
  lifecycle: EdcCommandRecord;
  /** The bridge's `notAfter` for this command. */
  notAfter: number;
  /** Highest bridge `seq` applied, and how many gaps were seen. */
  lastSeq: number;
  gaps: number;
  /** The device's responseData. Private: never logged or published as is (acquirerMetaData, signData...). */
  result?: Record<string, unknown>;
  /** The SDK's failure message, masked, for people. */
  failureMessage?: string;
  /**
   * The id of the last transaction the device completed before this command, when edc-command knows it: the
   * evidence that lets a GetLastTransaction answer without requestId settle a recovery.
   */
  previousTransactionId: string | null;
  /** Read before dispatch when `previousTransactionId` was unknown (see baseline.ts). */
  baseline?: LastTransactionBaseline;
  /** An operator's settlement of the command in doubt, and any late device result that disagreed with it. */
  settlement?: StoredSettlement;
  recovery?: {
    /** The GetLastTransaction of the current attempt (an alias record points back here). */
    requestId: string;
    lastSeq: number;
    notAfter: number;
    /** When the next attempt may start, while the record is timed_out. */
    nextAt: number | null;
    /** When the bridge was first seen offline during this recovery. */
    offlineSince: number | null;
    reason?: string;
  };
  /** The CommandCancel acting on this command, if any. */
  cancelRequestId?: string;
  /** Transitions that were refused and deserve a look (a failure after success, a device going back). */
  anomalies: string[];
}

/** A CommandCancel: it acts on the target's record; this record answers `get` and idempotent resubmits. */
export interface StoredCancel extends StoredBase, WithEvents {
  kind: 'cancel';
  commandName: 'CommandCancel';
  paramsHash: string;
  targetRequestId: string;
  phase: EdcCancelPhase;
  code: string | null;
  deadlineAt: number;
  notAfter: number;
  lastSeq: number;
  finishedAt: number | null;
  /** Sent by edc-command itself when the card countdown ended before the card was read. */
  auto: boolean;
}

/** The GetLastTransaction of a recovery: its traffic belongs to the command being recovered. */
export interface StoredAlias extends StoredBase {
  kind: 'alias';
  commandName: 'GetLastTransaction';
  aliasOf: string;
}

export type StoredRecord = StoredCommand | StoredCancel | StoredAlias;

// ---------------------------------------------------------------- the public view
// The public events (EdcPublicEvent) and the view (EdcCommandView) are the bus contract, in @tillbus/messaging.

export function isFinalPhase(phase: EdcPhase): boolean {
  return EDC_PHASES[phase].final;
}

/** The command's outcome ends it for now (see result-codes' `isEdcSettled`). */
export function isSettled(record: StoredCommand): boolean {
  return isEdcSettled(record.lifecycle);
}

/** A view whose outcome will not change unless a late result or an operator changes it: the wait may end. */
export function isDone(view: EdcCommandView): boolean {
  if (view.final || view.phase === 'in_doubt') return true;
  return (
    view.phase === 'timed_out' &&
    (view.commandName === 'GetLastTransaction' || view.commandName === 'CommandCancel')
  );
}

export function viewOf(record: StoredCommand | StoredCancel): EdcCommandView {
  if (record.kind === 'cancel') return cancelView(record);
  const life = record.lifecycle;
  return {
    deviceId: record.deviceId,
    requestId: record.requestId,
    commandName: record.commandName,
    phase: life.phase,
    outcome: edcOutcome(life),
    final: isFinalPhase(life.phase),
    acceptedAt: life.acceptedAt,
    sentAt: life.sentAt,
    deadlineAt: life.deadlineAt,
    countdownEndsAt: life.countdownEndsAt,
    finishedAt: life.finishedAt,
    lastDeviceEvent: life.lastDeviceEvent,
    notices: { ...life.notices },
    cancel: life.cancel
      ? { status: life.cancel.status, code: life.cancel.code, requestId: record.cancelRequestId }
      : null,
    unknownCause: life.unknownCause,
    recoveryAttempts: life.recoveryAttempts,
    failure: life.failure
      ? { ...life.failure, ...(record.failureMessage ? { message: record.failureMessage } : {}) }
      : null,
    resolution: life.resolution,
    contradicted: life.contradicted,
    ...(record.purchase ? { purchase: record.purchase } : {}),
    ...(record.result ? { result: publicResult(record.result) } : {}),
    ...(record.settlement ? { settlement: record.settlement } : {}),
  };
}

function cancelView(record: StoredCancel): EdcCommandView {
  return {
    deviceId: record.deviceId,
    requestId: record.requestId,
    commandName: 'CommandCancel',
    phase: record.phase,
    outcome: edcCancelOutcome(record.phase),
    final: EDC_CANCEL_PHASES[record.phase].final,
    acceptedAt: record.createdAt,
    sentAt: record.createdAt,
    deadlineAt: record.phase === 'sent' ? record.deadlineAt : null,
    countdownEndsAt: null,
    finishedAt: record.finishedAt,
    lastDeviceEvent: null,
    notices: {},
    cancel: null,
    unknownCause: record.phase === 'timed_out' ? 'deadline' : null,
    recoveryAttempts: 0,
    failure:
      record.phase === 'failed' || record.phase === 'timed_out'
        ? { type: 'command', code: record.code ?? 'CommandResponseTimeout' }
        : null,
    resolution: record.phase === 'sent' ? null : 'device',
    contradicted: null,
    targetRequestId: record.targetRequestId,
  };
}

/** The result as POS clients may see it: no acquirerMetaData, signData, wallet barcode or card data beyond the BIN. */
export function publicResult(result: Record<string, unknown>): Record<string, unknown> {
  return redactKiccResult(result) as Record<string, unknown>;
}
