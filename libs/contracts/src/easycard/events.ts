import type { EasyCardSessionStateKind, Outcome } from '@tillbus/result-codes';

/** What easycard-session publishes about a reader's session, one event per change. */
export const SESSION_EVENT_TYPES = [
  'signed-on',
  'renewed',
  'expiring',
  'expired',
  'failed',
  'settled',
] as const;
export type SessionEventType = (typeof SESSION_EVENT_TYPES)[number];

/** What goes on `tillbus.events.easycard.session.<deviceId>`. Never the key. */
export interface SessionEvent {
  /** Unique; also the JetStream message id, so a re-published event is stored once. */
  id: string;
  type: SessionEventType;
  deviceId: string;
  mchId: string;
  at: string;
  state: EasyCardSessionStateKind;
  signedAt?: string;
  expiresAt?: string;
  /** failed: which operation failed. */
  operation?: 'signon' | 'settlement';
  outcome?: Outcome;
  reason?: string;
  /** failed: when the next automatic attempt is due; null when an operator (or a settlement) must act. */
  retryAt?: string | null;
  /** settled: the business day (local date) of the settlement. */
  businessDay?: string;
}
