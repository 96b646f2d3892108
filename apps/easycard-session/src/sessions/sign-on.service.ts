import { randomUUID } from 'node:crypto';
import type { JsonLogger } from '@tillbus/observability';
import { renewalDue } from '@tillbus/result-codes';
import type { IntellaClient } from '../vendor/intella-client';
import type { SessionMetrics } from '../metrics';
import { callIntellaForReader } from './reader-call';
import type { SessionEvents } from './session-events';
import type { SessionKeyMaterial } from './session-key-material';
import { sessionUsable } from './session-record';
import type { AttemptResult, SessionRuntime } from './session-runtime';
import { claimScheduledSignOn, claimSignOn, completeSignOn } from './session-sign-on';
import type { SessionStore } from './session-store';

/** Claims a reader's SignOn by compare-and-set, calls intella, and records the sealed key. */
export class SignOnService {
  constructor(
    private readonly runtime: SessionRuntime,
    private readonly keys: SessionKeyMaterial,
    private readonly store: SessionStore,
    private readonly events: SessionEvents,
    private readonly client: IntellaClient,
    private readonly metrics: SessionMetrics,
    private readonly logger: JsonLogger,
  ) {}

  /**
   * One SignOn for a reader, if this replica can claim it. `scheduled`: only when due, judged on the fresh record.
   * `operator`: overrides the backoff and operator-only blocks, but leaves alone a reader holding a valid sign-on
   * that is not due; `operator-force` signs on regardless.
   */
  async signOn(
    deviceId: string,
    mode: 'scheduled' | 'operator' | 'operator-force',
  ): Promise<AttemptResult> {
    const { clock, policy, replicaId } = this.runtime;
    const now = clock.now();
    const token = randomUUID();
    let refusal: string | undefined;
    const claimed = await this.store.update(deviceId, (record) => {
      const realNow = Date.now();
      const fingerprint = this.keys.fingerprint(record.mchId);
      if (mode === 'scheduled') {
        const claim = claimScheduledSignOn(record, now, realNow, policy, fingerprint, {
          owner: replicaId,
          token,
        });
        refusal = claim.refusal;
        return claim.record;
      }
      if (
        mode === 'operator' &&
        sessionUsable(record, now, this.keys.keyOpens) &&
        !renewalDue(record.state, now, policy.renewalMarginMs)
      ) {
        refusal = 'ALREADY_SIGNED_ON';
        return undefined;
      }
      const claim = claimSignOn(record, now, realNow, policy, fingerprint, {
        owner: replicaId,
        token,
        operator: true,
      });
      refusal = claim.refusal;
      return claim.record;
    });
    if (!claimed.changed || !claimed.record) {
      return {
        attempted: false,
        refusal: claimed.record ? (refusal ?? 'NOT_DUE') : 'NOT_FOUND',
        record: claimed.record,
      };
    }
    const record = claimed.record;
    const renewal = record.state.kind === 'renewing';
    const result = await callIntellaForReader(
      this.client,
      this.runtime.merchants,
      record,
      'SignOn',
    );
    const key = result.data?.NewAESKey;
    const effective =
      result.outcome === 'SUCCESS' && (typeof key !== 'string' || key === '')
        ? { outcome: 'UNKNOWN' as const, reason: 'RESPONSE_INCOMPLETE' }
        : { outcome: result.outcome, reason: result.reason };
    this.metrics.signOns.inc(effective);
    if (renewal) this.metrics.renewals.inc({ outcome: effective.outcome });
    const at = clock.now();
    const done = await this.store.update(deviceId, (current) =>
      completeSignOn(
        current,
        token,
        { ...effective, data: result.data },
        at,
        this.keys.fingerprint(current.mchId),
        (plain, signedAt) =>
          this.runtime.keyBox.seal(plain, { deviceId, mchId: current.mchId, signedAt }),
      ),
    );
    this.logger.event(effective.outcome === 'SUCCESS' ? 'info' : 'warn', 'sign-on finished', {
      deviceId,
      mchId: record.mchId,
      renewal,
      outcome: effective.outcome,
      reason: effective.reason,
      tries: result.tries,
      state: done.record?.state.kind,
      recorded: done.changed,
    });
    await this.events.flush(done.record);
    return { attempted: true, ...effective, record: done.record };
  }
}
