import { randomUUID } from 'node:crypto';
import type { JsonLogger } from '@tillbus/observability';
import type { IntellaClient } from '../vendor/intella-client';
import type { SessionMetrics } from '../metrics';
import { callIntellaForReader } from './reader-call';
import type { SessionEvents } from './session-events';
import type { SessionKeyMaterial } from './session-key-material';
import type { AttemptResult, SessionRuntime } from './session-runtime';
import { claimSettlement, completeSettlement } from './session-settlement';
import type { SessionStore } from './session-store';

/** Claims a reader's due Settlement by compare-and-set, calls intella, and records the result. */
export class SettlementService {
  constructor(
    private readonly runtime: SessionRuntime,
    private readonly keys: SessionKeyMaterial,
    private readonly store: SessionStore,
    private readonly events: SessionEvents,
    private readonly client: IntellaClient,
    private readonly metrics: SessionMetrics,
    private readonly logger: JsonLogger,
  ) {}

  /** One Settlement for a reader, if it is due and this replica can claim it. */
  async settle(deviceId: string): Promise<AttemptResult> {
    const { clock, policy, replicaId } = this.runtime;
    const now = clock.now();
    const token = randomUUID();
    let refusal: string | undefined;
    const claimed = await this.store.update(deviceId, (record) => {
      const claim = claimSettlement(
        record,
        now,
        Date.now(),
        policy,
        this.keys.fingerprint(record.mchId),
        {
          owner: replicaId,
          token,
        },
      );
      refusal = claim.refusal;
      return claim.record;
    });
    if (!claimed.changed || !claimed.record)
      return { attempted: false, refusal: refusal ?? 'NOT_FOUND' };
    const result = await callIntellaForReader(
      this.client,
      this.runtime.merchants,
      claimed.record,
      'Settlement',
    );
    this.metrics.settlements.inc({ outcome: result.outcome, reason: result.reason });
    const at = clock.now();
    const done = await this.store.update(deviceId, (current) =>
      completeSettlement(current, token, result, at, policy),
    );
    this.logger.event(result.outcome === 'SUCCESS' ? 'info' : 'warn', 'settlement finished', {
      deviceId,
      mchId: claimed.record.mchId,
      outcome: result.outcome,
      reason: result.reason,
    });
    await this.events.flush(done.record);
    return { attempted: true, outcome: result.outcome, reason: result.reason, record: done.record };
  }
}
