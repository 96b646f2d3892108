import type { KiccCommandName, Outcome } from '@tillbus/result-codes';
import type { EdcSettlementView } from './settlement';

/** The Purchase a PurchaseCancel refers to. */
export interface PurchaseRef {
  deviceId: string;
  requestId: string;
}

export type EdcPublicEventType =
  | 'device_event'
  | 'phase'
  | 'cancel'
  | 'recovery'
  | 'outcome'
  /** An operator settled the command in doubt (`status: settled`), or a late device result disagreed (`conflict`). */
  | 'settlement';

/**
 * What edc-command publishes on `tillbus.events.edc.<deviceId>.<requestId>`: every device event, every lifecycle
 * change, and the outcome. Never acquirerMetaData, signData or card data beyond the BIN.
 */
export interface EdcPublicEvent {
  v: 1;
  /** 1, 2, 3... per command; also the `Nats-Msg-Id` suffix. */
  seq: number;
  at: number;
  deviceId: string;
  requestId: string;
  commandName: KiccCommandName;
  type: EdcPublicEventType;
  /** The command's phase after this event. */
  phase: string;
  previousPhase?: string;
  code?: string;
  message?: string;
  status?: string;
  attempt?: number;
  verdict?: string;
  reason?: string;
  outcome?: Outcome | null;
  final?: boolean;
  resolution?: string | null;
  failure?: { type: string; code: string } | null;
  late?: boolean;
  /** The result without private fields, on `outcome` events. */
  result?: Record<string, unknown>;
}

/** edc-command's view of a command: the reply of `tillbus.edc.command.get`, `submit` and `submit-and-wait`. */
export interface EdcCommandView {
  deviceId: string;
  requestId: string;
  commandName: KiccCommandName;
  phase: string;
  /** SUCCESS, FAILED, RETRYABLE, UNKNOWN or CONFIG_ERROR; null while the command runs or recovers. */
  outcome: Outcome | null;
  /** True once nothing but an operator can change the outcome (a late result can still reconcile in_doubt). */
  final: boolean;
  acceptedAt: number;
  sentAt: number | null;
  deadlineAt: number | null;
  countdownEndsAt: number | null;
  finishedAt: number | null;
  lastDeviceEvent: { code: string; at: number } | null;
  notices: Record<string, number>;
  cancel: { status: string; code: string | null; requestId?: string } | null;
  unknownCause: string | null;
  recoveryAttempts: number;
  failure: { type: string; code: string; message?: string } | null;
  resolution: string | null;
  contradicted: string | null;
  targetRequestId?: string;
  purchase?: PurchaseRef;
  result?: Record<string, unknown>;
  /** How an operator settled the command in doubt, and a later device result that disagreed. */
  settlement?: EdcSettlementView;
}
