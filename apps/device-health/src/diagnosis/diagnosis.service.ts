import type { TerminalHealth } from '@tillbus/contracts';
import { after, type Cancel, CLOCK, type Clock } from '@tillbus/messaging';
import { Inject, Injectable } from '@nestjs/common';
import { JsonLogger } from '@tillbus/observability';
import { AdyenAdapter } from '../vendor/adyen.adapter';
import { AntomAdapter } from '../vendor/antom.adapter';
import { type DeviceHealthConfig, DEVICE_HEALTH_CONFIG } from '../config';
import { failedExchange, type Findings } from '../health/terminal-health';
import { DeviceHealthMetrics } from '../metrics';
import { RegistryService } from '../registry/registry.service';
import type { TerminalRecord } from '../registry/terminal.dto';
import { HealthStore } from './health-store.service';

export type Trigger = 'poll' | 'request';

/**
 * One diagnosis, whatever the vendor: bounded by DIAGNOSIS_TIMEOUT_MS, never throwing for anything a terminal
 * does (every failure becomes findings with a reason), measured, and stored in the health cache.
 */
@Injectable()
export class DiagnosisService {
  constructor(
    private readonly antom: AntomAdapter,
    private readonly adyen: AdyenAdapter,
    private readonly store: HealthStore,
    private readonly registry: RegistryService,
    private readonly metrics: DeviceHealthMetrics,
    @Inject(DEVICE_HEALTH_CONFIG) private readonly config: DeviceHealthConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly logger: JsonLogger,
  ) {}

  async diagnose(terminal: TerminalRecord, trigger: Trigger): Promise<TerminalHealth> {
    const startedAt = this.clock.now();
    const started = process.hrtime.bigint();
    const findings = await this.withTimeout(terminal);
    const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
    this.metrics.recordDiagnosis(terminal.vendor, findings.outcome, trigger, durationMs / 1000);
    for (const result of findings.hostDiagnoses ?? []) {
      this.metrics.hostDiagnoses.inc({ vendor: terminal.vendor, result });
    }
    if (findings.clockSkewMs !== undefined) {
      this.metrics.clockSkew.observe(
        { vendor: terminal.vendor },
        Math.abs(findings.clockSkewMs) / 1000,
      );
    }
    this.logger.event('debug', 'diagnosed a terminal', {
      terminalId: terminal.terminalId,
      vendor: terminal.vendor,
      trigger,
      outcome: findings.outcome,
      reasons: findings.reasons,
      durationMs: Math.round(durationMs),
    });
    // A terminal removed while the poll diagnosed it stays removed: its cache entry is not written back.
    if (trigger === 'poll' && !this.registry.cached(terminal.terminalId)) {
      return this.store.compose(
        terminal,
        findings,
        { checkedAtMs: startedAt, durationMs },
        undefined,
      );
    }
    return this.store.record(terminal, findings, { checkedAtMs: startedAt, durationMs });
  }

  private async withTimeout(terminal: TerminalRecord): Promise<Findings> {
    const controller = new AbortController();
    let cancelTimeout: Cancel | undefined;
    const timeout = new Promise<Findings>((resolve) => {
      cancelTimeout = after(this.clock, this.config.DIAGNOSIS_TIMEOUT_MS, () => {
        controller.abort();
        resolve(
          failedExchange('timeout', `no answer within ${this.config.DIAGNOSIS_TIMEOUT_MS} ms`),
        );
      });
    });
    try {
      return await Promise.race([this.run(terminal, controller.signal), timeout]);
    } finally {
      cancelTimeout?.();
    }
  }

  private async run(terminal: TerminalRecord, signal: AbortSignal): Promise<Findings> {
    try {
      return terminal.vendor === 'antom'
        ? await this.antom.diagnose(terminal, signal)
        : await this.adyen.diagnose(terminal, signal);
    } catch (error) {
      // A bug of ours, not the terminal's doing: reported as such, never thrown at a caller.
      this.logger.event('error', 'diagnosis failed unexpectedly', {
        terminalId: terminal.terminalId,
        error,
      });
      return failedExchange('vendor_error', `internal error: ${(error as Error).message}`);
    }
  }
}
