import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import {
  DIAGNOSIS_OUTCOMES,
  HEALTH_REASON_NAMES,
  HEALTH_STATUSES,
  HEALTH_VENDORS,
  type DiagnosisOutcome,
  type HealthReason,
  type HealthStatus,
  type HealthVendor,
} from '@tillbus/result-codes';
import { type DeviceHealthConfig, DEVICE_HEALTH_CONFIG } from './config';

/**
 * A view of the fleet of this deployment's vendors, computed when Prometheus scrapes (every replica of a
 * deployment reports the same numbers; a deployment reports only the vendors it serves).
 */
export interface FleetSnapshot {
  terminals: Map<string, number>;
  reasons: Map<string, number>;
  /** Per vendor: the age of the oldest diagnosis among its registered terminals. */
  oldestDiagnosisAgeSeconds: Map<string, number>;
}

export type FleetSource = () => FleetSnapshot;

const key = (vendor: string, other: string) => `${vendor}\u0000${other}`;

/**
 * device-health metrics. Labels are bounded by construction: vendor (2), status (4), reason (the reason table),
 * outcome (8), result and trigger enums. No terminal id, store id or POIID is ever a label.
 *
 * Vendor series exist only for the vendors this deployment serves (DEVICE_HEALTH_VENDORS): with device-health split
 * per vendor, each vendor's fleet gauges come from its own deployment alone, so `max by (vendor, ...)` over all
 * replicas of all deployments neither double counts nor mixes a deployment's zeros into another's numbers.
 */
@Injectable()
export class DeviceHealthMetrics {
  readonly diagnosisDuration: Histogram<'vendor'>;
  readonly clockSkew: Histogram<'vendor'>;
  readonly diagnoses: Counter<'vendor' | 'outcome' | 'trigger'>;
  readonly hostDiagnoses: Counter<'vendor' | 'result'>;
  readonly claims: Counter<'result'>;
  readonly skipped: Counter<'reason'>;
  readonly events: Counter<'vendor' | 'result'>;
  readonly queueDepth: Gauge;
  private fleet?: FleetSource;
  private snapshot?: FleetSnapshot;

  constructor(registry: Registry, @Inject(DEVICE_HEALTH_CONFIG) config: DeviceHealthConfig) {
    const snapshot = () => this.fleetSnapshot();
    const vendors = HEALTH_VENDORS.filter((vendor) =>
      config.DEVICE_HEALTH_VENDORS.includes(vendor),
    );
    new Gauge({
      name: 'tillbus_device_health_terminals',
      help: 'Registered terminals by vendor and current status (UNKNOWN includes stale answers), for the vendors this deployment serves. Fleet-wide: every replica serving a vendor reports the same value, so aggregate with max by (vendor, status), not sum.',
      labelNames: ['vendor', 'status'],
      registers: [registry],
      collect() {
        const { terminals } = snapshot();
        for (const vendor of vendors) {
          for (const status of HEALTH_STATUSES) {
            this.set({ vendor, status }, terminals.get(key(vendor, status)) ?? 0);
          }
        }
      },
    });
    new Gauge({
      name: 'tillbus_device_health_active_reasons',
      help: 'Terminals for which a reason is active now, by vendor and reason (STALE for answers too old to trust), for the vendors this deployment serves. Fleet-wide: aggregate with max by (vendor, reason).',
      labelNames: ['vendor', 'reason'],
      registers: [registry],
      collect() {
        const { reasons } = snapshot();
        for (const vendor of vendors) {
          for (const reason of HEALTH_REASON_NAMES) {
            this.set({ vendor, reason }, reasons.get(key(vendor, reason)) ?? 0);
          }
        }
      },
    });
    new Gauge({
      name: 'tillbus_device_health_polling_lag_seconds',
      help: 'Age of the oldest diagnosis among registered terminals of a vendor this deployment serves (since registration for one never diagnosed). Fleet-wide: aggregate with max (or max by (vendor)).',
      labelNames: ['vendor'],
      registers: [registry],
      collect() {
        const { oldestDiagnosisAgeSeconds } = snapshot();
        for (const vendor of vendors) {
          this.set({ vendor }, oldestDiagnosisAgeSeconds.get(vendor) ?? 0);
        }
      },
    });
    this.diagnosisDuration = new Histogram({
      name: 'tillbus_device_health_diagnosis_duration_seconds',
      help: 'Time of one diagnosis by this replica (both Adyen steps together, timeouts included), by vendor.',
      labelNames: ['vendor'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    this.clockSkew = new Histogram({
      name: 'tillbus_device_health_answer_clock_skew_seconds',
      help: "How far a terminal's signed answer time is from this replica's clock (absolute), by vendor (Antom signs its answers). A correctly signed answer counts whatever its time; beyond ANTOM_MAX_SKEW_MS the terminal gets reason CLOCK_SKEW.",
      labelNames: ['vendor'],
      buckets: [1, 5, 30, 60, 300, 600, 3600, 86_400],
      registers: [registry],
    });
    this.diagnoses = new Counter({
      name: 'tillbus_device_health_diagnoses_total',
      help: 'Diagnoses made by this replica, by vendor, outcome class (ok, busy, unreachable, timeout, auth_error, config_error, malformed, vendor_error) and trigger (poll, request).',
      labelNames: ['vendor', 'outcome', 'trigger'],
      registers: [registry],
    });
    this.hostDiagnoses = new Counter({
      name: 'tillbus_device_health_host_diagnoses_total',
      help: 'Diagnoses with HostDiagnosisFlag=true (Adyen step 2, and every Mobile SDK diagnosis), by result: reachable, unreachable, unknown, failed.',
      labelNames: ['vendor', 'result'],
      registers: [registry],
    });
    this.claims = new Counter({
      name: 'tillbus_device_health_poll_claims_total',
      help: 'Attempts to claim a (terminal, interval) slot: won (this replica diagnoses it), lost (another replica has it), error.',
      labelNames: ['result'],
      registers: [registry],
    });
    this.skipped = new Counter({
      name: 'tillbus_device_health_poll_skipped_total',
      help: 'Slots this replica gave up before claiming them: late (waited over half an interval in its queue), queue_full, unregistered.',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.events = new Counter({
      name: 'tillbus_device_health_events_published_total',
      help: 'Health change events published to JetStream by this replica, by vendor and result (ok: acked; failed: a failed attempt, retried until acked).',
      labelNames: ['vendor', 'result'],
      registers: [registry],
    });
    this.queueDepth = new Gauge({
      name: 'tillbus_device_health_poll_queue_depth',
      help: 'Slots due and waiting for a free diagnosis worker on this replica.',
      registers: [registry],
    });
    // Zero series for every bounded combination, so rate() and absent() behave from the first scrape.
    for (const vendor of vendors) {
      this.diagnosisDuration.zero({ vendor });
      this.clockSkew.zero({ vendor });
      for (const outcome of DIAGNOSIS_OUTCOMES) {
        for (const trigger of ['poll', 'request'])
          this.diagnoses.inc({ vendor, outcome, trigger }, 0);
      }
      for (const result of ['reachable', 'unreachable', 'unknown', 'failed']) {
        this.hostDiagnoses.inc({ vendor, result }, 0);
      }
      for (const result of ['ok', 'failed']) this.events.inc({ vendor, result }, 0);
    }
    for (const result of ['won', 'lost', 'error']) this.claims.inc({ result }, 0);
    for (const reason of ['late', 'queue_full', 'unregistered']) this.skipped.inc({ reason }, 0);
  }

  /** The fleet view comes from the registry and health cache mirrors (wired by the health store). */
  setFleetSource(source: FleetSource): void {
    this.fleet = source;
  }

  recordDiagnosis(
    vendor: HealthVendor,
    outcome: DiagnosisOutcome,
    trigger: 'poll' | 'request',
    seconds: number,
  ): void {
    this.diagnoses.inc({ vendor, outcome, trigger });
    this.diagnosisDuration.observe({ vendor }, seconds);
  }

  /**
   * One snapshot serves the three fleet gauges of a scrape: prom-client calls their collect() one after the other
   * in the same turn, so the snapshot is dropped at the next microtask.
   */
  private fleetSnapshot(): FleetSnapshot {
    if (this.snapshot) return this.snapshot;
    const value = this.fleet?.() ?? {
      terminals: new Map(),
      reasons: new Map(),
      oldestDiagnosisAgeSeconds: new Map(),
    };
    this.snapshot = value;
    queueMicrotask(() => (this.snapshot = undefined));
    return value;
  }
}

export function countFleet(
  items: Iterable<{
    vendor: HealthVendor;
    status: HealthStatus;
    reasons: readonly HealthReason[];
    ageSeconds: number;
  }>,
): FleetSnapshot {
  const terminals = new Map<string, number>();
  const reasons = new Map<string, number>();
  const oldest = new Map<string, number>();
  for (const item of items) {
    const statusKey = key(item.vendor, item.status);
    terminals.set(statusKey, (terminals.get(statusKey) ?? 0) + 1);
    for (const reason of item.reasons) {
      const reasonKey = key(item.vendor, reason);
      reasons.set(reasonKey, (reasons.get(reasonKey) ?? 0) + 1);
    }
    oldest.set(item.vendor, Math.max(oldest.get(item.vendor) ?? 0, item.ageSeconds));
  }
  return { terminals, reasons, oldestDiagnosisAgeSeconds: oldest };
}
