import { Inject, Injectable } from '@nestjs/common';
import { JsonLogger } from '@tillbus/observability';
import type { SubmitCommandRequest } from '@tillbus/contracts/dto';
import { CLOCK, type Clock } from '@tillbus/messaging';
import { EDC_CONFIG, EdcCommandConfig } from '../config';
import { paramsHash, recordKey, shortHash } from '../store/keys';
import { EdcMetrics } from '../metrics';
import { baselineOf, type LastTransactionBaseline } from '../record/baseline';
import { isDone, viewOf, type StoredCommand } from '../record/model';
import { CommandTimers } from '../recovery/command-timers';
import { RecordStore } from '../store/stores';
import { BridgeDispatch } from './bridge-dispatch';
import { CommandWriter } from './command-writer';
import { newCommandRecord } from './new-command-record';
import { SubmitWaiters } from './submit-waiters';

/** How often a baseline read looks at its record when no write of this replica wakes it (another replica's inbox). */
const POLL_MS = 100;

/**
 * Before a Purchase or PurchaseCancel whose device's last transaction is unknown: a stand-alone GetLastTransaction
 * (`base-<hash>`), sent while the payment already holds the device lock, whose answer becomes the payment's
 * baseline. It costs one query (well under a second) against a payment of up to 115 s, and lets a lost result be
 * settled by recovery instead of staying in doubt.
 */
@Injectable()
export class BaselineReader {
  constructor(
    @Inject(EDC_CONFIG) private readonly config: EdcCommandConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly records: RecordStore,
    private readonly writer: CommandWriter,
    private readonly dispatch: BridgeDispatch,
    private readonly timers: CommandTimers,
    private readonly waiters: SubmitWaiters,
    private readonly metrics: EdcMetrics,
    private readonly logger: JsonLogger,
  ) {}

  async read(deviceId: string, paymentRequestId: string): Promise<LastTransactionBaseline> {
    const firstId = `base-${shortHash(deviceId, paymentRequestId)}`;
    let asked = await this.ask(deviceId, firstId);
    if (asked.kind === 'taken') {
      // an earlier submit of this payment asked before and was refused or died: its answer may be old, ask again
      const againId = `${firstId}-${shortHash(firstId, String(this.clock.now())).slice(0, 8)}`;
      asked = await this.ask(deviceId, againId);
    }
    const query = asked.kind === 'taken' ? null : await this.waitForEnd(recordKey(asked.requestId));
    const baseline = baselineOf(asked.requestId, query, this.clock.now());
    this.metrics.baselines.inc({ result: baseline.kind });
    this.logger.event(baseline.kind === 'unknown' ? 'warn' : 'info', 'payment baseline', {
      deviceId,
      requestId: paymentRequestId,
      baselineRequestId: asked.requestId,
      baseline: baseline.kind,
      ...(baseline.kind === 'unknown' ? { reason: baseline.reason } : {}),
    });
    return baseline;
  }

  /**
   * Sends the GetLastTransaction `requestId`, or joins the one a concurrent submit of the same payment is running.
   * `taken`: the id names a query that is over, or something else.
   */
  private async ask(
    deviceId: string,
    requestId: string,
  ): Promise<{ kind: 'sent' | 'joined' | 'taken'; requestId: string }> {
    const key = recordKey(requestId);
    const now = this.clock.now();
    const request = {
      deviceId,
      requestId,
      commandName: 'GetLastTransaction',
    } as SubmitCommandRequest;
    const hash = paramsHash({
      commandName: 'GetLastTransaction',
      params: {},
      purchase: null,
      targetRequestId: null,
    });
    const record = newCommandRecord(
      this.config,
      request,
      'GetLastTransaction',
      {},
      hash,
      null,
      now,
    );
    const created = await this.records.create(key, record);
    if (!created.created) {
      const existing = created.existing;
      const running =
        existing.kind === 'command' &&
        existing.deviceId === deviceId &&
        existing.commandName === 'GetLastTransaction' &&
        !isDone(viewOf(existing));
      return { kind: running ? 'joined' : 'taken', requestId };
    }
    this.timers.own(key, record);
    const refusal = await this.dispatch.dispatch(key, record);
    if (refusal) await this.writer.apply(key, { type: 'refused', code: refusal.status });
    return { kind: 'sent', requestId };
  }

  private async waitForEnd(key: string): Promise<StoredCommand | null> {
    const giveUpAt =
      Date.now() + this.config.EDC_TIMEOUT_GET_LAST_TRANSACTION_MS + this.config.EDC_ACK_TIMEOUT_MS;
    let wake: () => void = () => undefined;
    const stopWaiting = this.waiters.add(key, () => wake());
    try {
      for (;;) {
        const found = await this.records.read(key, { fresh: true });
        const record = found?.value.kind === 'command' ? found.value : null;
        if (!record || isDone(viewOf(record)) || Date.now() >= giveUpAt) return record;
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, POLL_MS);
        });
      }
    } finally {
      stopWaiting();
    }
  }
}
