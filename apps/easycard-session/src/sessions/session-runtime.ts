import type { Clock } from '@tillbus/messaging';
import type { Outcome } from '@tillbus/result-codes';
import type { KeyBox } from './key-box';
import type { ResolvedMerchant } from '../vendor/merchants';
import type { SessionPolicy, SessionRecord } from './session-record';

/** What the session providers of one replica share: resolved merchants, key material, policy and identity. */
export interface SessionRuntime {
  clock: Clock;
  merchants: Map<string, ResolvedMerchant>;
  keyBox: KeyBox;
  policy: SessionPolicy;
  /** This replica, as lease owner. */
  replicaId: string;
  discoveryIntervalMs: number;
  deviceListField: string;
  deviceListIdField: string;
}

/** The answer of one claimed sign-on or settlement attempt, or why none was made. */
export interface AttemptResult {
  attempted: boolean;
  /** Why no attempt was made: IN_PROGRESS, NOT_FOUND, ALREADY_SIGNED_ON, NOT_DUE, or a machine refusal. */
  refusal?: string;
  outcome?: Outcome;
  reason?: string;
  record?: SessionRecord;
}
