import type { BridgeEvent, BridgeResult } from '@tillbus/protocols-kicc';
import type { EdcSettlementOutcome, EdcUnknownCause } from '@tillbus/result-codes';
import type { SettlementInput } from './settlement';

/**
 * What one input does to a stored record: the record-level steps (bridge `seq`, results, recovery bookkeeping,
 * public events) around result-codes' lifecycle table `edcTransition`, which alone decides the phase. The steps
 * run inside KV compare-and-set, so a step may run again on a fresher record and must depend on nothing but its
 * arguments.
 */
export interface StepContext {
  at: number;
  replicaId: string;
  withoutRequestId: 'fresh-transaction' | 'never';
  /** Delay before recovery attempt n (1-based), the last value repeating. */
  recoveryBackoffMs: number[];
}

export type BridgeTraffic = BridgeEvent | BridgeResult;

export type CommandInput =
  | { type: 'bridge'; message: BridgeTraffic }
  /** The bridge refused the command before calling the SDK, or nobody listens on its subject. */
  | { type: 'refused'; code: string }
  | { type: 'deadline' }
  | { type: 'bridge_lost' }
  /**
   * This replica's timers were held `heldMs` while it was cut off from NATS: the deadline and countdown it held move
   * on by that much, each only if it is still the one held (a message read since may have set a newer one).
   */
  | { type: 'held'; heldMs: number; deadlineAt: number | null; countdownEndsAt: number | null }
  /** Recovery waits: the next attempt may start at `nextAt`. */
  | { type: 'recovery_wait'; nextAt: number; offlineSince: number | null }
  | { type: 'recovery_started'; requestId: string; notAfter: number }
  | { type: 'recovery_message'; message: BridgeTraffic }
  | { type: 'recovery_refused'; requestId: string; code: string }
  /** A v2 bridge's journal never held the command, and has closed its requestId (docs/bridge-protocol.md §12). */
  | { type: 'journal_not_received'; journalSince: number }
  | { type: 'cancel_requested'; cancelRequestId: string }
  | { type: 'cancel_result'; cancelRequestId: string; confirmed: boolean; code?: string }
  | { type: 'take_over' }
  | { type: 'operator_settle'; settlement: SettlementInput };

export type Note =
  | { kind: 'duplicate' }
  | { kind: 'gap' }
  | { kind: 'refused'; reason: string }
  | { kind: 'not_cancellable'; reason: string }
  | { kind: 'timeout'; cause: EdcUnknownCause }
  | { kind: 'recovery'; result: 'succeeded' | 'failed' | 'in_doubt' | 'retry'; reason: string }
  | { kind: 'cancel'; result: 'confirmed' | 'refused'; code?: string }
  | { kind: 'late_result' }
  | { kind: 'contradicted' }
  | { kind: 'stale'; reason: string }
  | { kind: 'not_in_doubt'; reason: string }
  | { kind: 'settled'; outcome: EdcSettlementOutcome }
  | { kind: 'settlement_conflict' };

export interface Step<T> {
  record: T;
  changed: boolean;
  notes: Note[];
}

export type CancelInput =
  | { type: 'bridge'; message: BridgeTraffic }
  | { type: 'refused'; code: string }
  | { type: 'deadline' }
  /** The target ended: a pending cancel learns from it whether it worked. */
  | { type: 'target_settled'; cancelled: boolean; phase: string };
