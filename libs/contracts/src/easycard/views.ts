import type { EasyCardSessionStateKind, Outcome } from '@tillbus/result-codes';

/** What the bus API shows about a reader's session: everything but the key. */
export interface SessionView {
  deviceId: string;
  mchId: string;
  state: EasyCardSessionStateKind;
  usable: boolean;
  signedAt: string | null;
  expiresAt: string | null;
  secondsUntilExpiry: number | null;
  reader: { deviceID: string | null; newDeviceId: string | null; dongleDeviceId: string | null };
  hasKey: boolean;
  inFlight: 'signon' | 'settlement' | null;
  failure: {
    operation: 'signon' | 'settlement';
    outcome: Outcome;
    reason: string;
    at: string;
    retryAt: string | null;
    needsOperator: boolean;
  } | null;
  settlement: {
    lastSettledAt: string | null;
    lastAttempt: { at: string; day: string; outcome: Outcome; reason: string } | null;
    nextAttemptAt: string | null;
  };
  signOns: number;
  renewals: number;
  /** How easycard-session learned of the reader: DeviceQuery discovery, or registered on the bus. */
  source: 'discovery' | 'bus';
  registeredAt: string;
  updatedAt: string;
}

/** `tillbus.easycard.session.list`. */
export interface SessionListReply {
  sessions: SessionView[];
  total: number;
}

/** `tillbus.easycard.signon`. */
export interface SignOnReply {
  deviceId: string;
  /** False when no SignOn was sent (the reader is signed on and not due: pass force). */
  attempted: boolean;
  outcome: string | null;
  reason: string | null;
  session: SessionView;
}
