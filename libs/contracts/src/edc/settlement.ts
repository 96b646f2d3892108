import type { EdcSettlementOutcome } from '@tillbus/result-codes';

/**
 * `tillbus.edc.command.settle`: an operator settles a command in doubt after checking it with KICC. Only the
 * operator identity may publish there (deploy/nats/auth.conf).
 */
export interface EdcSettleRequest {
  deviceId: string;
  requestId: string;
  outcome: EdcSettlementOutcome;
  /** Why, in the operator's words (what KICC said). */
  reason: string;
  /** The approval number KICC gave for a SUCCESS. */
  approval?: string;
  /** The person settling it (the CLI sends $USER unless told otherwise). */
  operator: string;
  /** The NATS user the caller connected as (the CLI sends its own). */
  natsUser: string;
}

/** The settlement as the command record keeps it and its view shows it. */
export interface EdcSettlementView {
  outcome: EdcSettlementOutcome;
  reason: string;
  approval?: string;
  by: { operator: string; natsUser: string };
  at: number;
  deviceLastSaid: {
    lastDeviceEvent: string | null;
    unknownCause: string | null;
    recoveryAttempts: number;
    recoveryReason: string | null;
  };
  /** A device result that arrived after the settlement and disagreed with it (kept, never applied). */
  conflict?: { at: number; verdict: string; callback: string; code: string | null };
}
