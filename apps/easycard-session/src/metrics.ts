import type { Clock } from '@tillbus/messaging';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import {
  EASYCARD_SESSION_STATES,
  easyCardSessionBlock,
  easyCardSessionExpiry,
  easyCardSessionReportedKind,
} from '@tillbus/result-codes';
import { sessionUsable, type KeyCheck, type SessionRecord } from './sessions/session-record';

/** Metric names, for docs, alerts and tests. Labels are bounded: states, outcome classes, reason codes. */
export const METRICS = {
  sessions: 'tillbus_easycard_session_sessions',
  earliestExpiry: 'tillbus_easycard_session_earliest_expiry_seconds',
  unusable: 'tillbus_easycard_session_unusable_readers',
  blocked: 'tillbus_easycard_session_blocked_readers',
  signOns: 'tillbus_easycard_session_signons_total',
  renewals: 'tillbus_easycard_session_renewals_total',
  settlements: 'tillbus_easycard_session_settlements_total',
  discoveries: 'tillbus_easycard_session_discoveries_total',
  intellaRequests: 'tillbus_easycard_session_intella_requests_total',
  intellaDuration: 'tillbus_easycard_session_intella_request_duration_seconds',
  keyReleases: 'tillbus_easycard_session_key_releases_total',
  unreadableKeys: 'tillbus_easycard_session_unreadable_keys_total',
  events: 'tillbus_easycard_session_events_published_total',
  eventFailures: 'tillbus_easycard_session_event_publish_failures_total',
} as const;

/**
 * The fleet view is computed from the shared sessions (KV) at scrape time, so every replica reports the same
 * numbers: aggregate the gauges with min/max, not sum. Counters are per replica: sum them.
 */
export class SessionMetrics {
  readonly signOns: Counter<'outcome' | 'reason'>;
  readonly renewals: Counter<'outcome'>;
  readonly settlements: Counter<'outcome' | 'reason'>;
  readonly discoveries: Counter<'outcome' | 'reason'>;
  readonly intellaRequests: Counter<'service_type' | 'result'>;
  readonly intellaDuration: Histogram<'service_type'>;
  readonly keyReleases: Counter<'result'>;
  readonly unreadableKeys: Counter;
  readonly events: Counter<'type'>;
  readonly eventFailures: Counter;

  constructor(
    registry: Registry,
    sessions: () => SessionRecord[],
    clock: Clock,
    keyOpens: KeyCheck,
  ) {
    new Gauge({
      name: METRICS.sessions,
      help: 'EasyCard readers by session state (unsigned, signing, signed, renewing, failed, expired).',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        const now = clock.now();
        const counts = Object.fromEntries(EASYCARD_SESSION_STATES.map((state) => [state, 0]));
        for (const record of sessions()) counts[easyCardSessionReportedKind(record.state, now)]++;
        for (const state of EASYCARD_SESSION_STATES) this.set({ state }, counts[state]);
      },
    });
    new Gauge({
      name: METRICS.earliestExpiry,
      help:
        'Seconds until the earliest EasyCard sign-on expiry among readers that hold or held one; negative once ' +
        'a sign-on has lapsed without renewal; +Inf when no reader has signed on.',
      registers: [registry],
      collect() {
        const now = clock.now();
        let earliest = Number.POSITIVE_INFINITY;
        for (const record of sessions()) {
          const expiry = easyCardSessionExpiry(record.state);
          if (expiry !== null) earliest = Math.min(earliest, expiry);
        }
        this.set(earliest === Number.POSITIVE_INFINITY ? earliest : (earliest - now) / 1000);
      },
    });
    new Gauge({
      name: METRICS.unusable,
      help:
        'EasyCard readers without a valid sign-on right now (never signed, expired, still signing, or holding a ' +
        'key that does not open with the current key material).',
      registers: [registry],
      collect() {
        const now = clock.now();
        this.set(sessions().filter((record) => !sessionUsable(record, now, keyOpens)).length);
      },
    });
    const blocked = new Gauge({
      name: METRICS.blocked,
      help:
        'EasyCard readers whose last sign-on failure is not retried automatically (an operator or a settlement ' +
        'must act), by reason (BAD_TRADE_KEY, DECRYPTION_FAILED, DEVICE_DEACTIVATED, PREVIOUS_DAY_NOT_SETTLED, ...).',
      labelNames: ['reason'],
      registers: [registry],
      collect() {
        blocked.reset();
        for (const record of sessions()) {
          const reason = easyCardSessionBlock(record.state);
          if (reason !== undefined) blocked.inc({ reason });
        }
      },
    });
    this.signOns = new Counter({
      name: METRICS.signOns,
      help: 'SignOn attempts by outcome class (SUCCESS, RETRYABLE, UNKNOWN, FAILED, CONFIG_ERROR) and reason.',
      labelNames: ['outcome', 'reason'],
      registers: [registry],
    });
    this.renewals = new Counter({
      name: METRICS.renewals,
      help: 'Sign-on attempts for readers that still held a valid sign-on (renewals), by outcome class.',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.settlements = new Counter({
      name: METRICS.settlements,
      help: 'Settlement attempts by outcome class and reason (PREVIOUS_DAY_NOT_SETTLED is 010117).',
      labelNames: ['outcome', 'reason'],
      registers: [registry],
    });
    this.discoveries = new Counter({
      name: METRICS.discoveries,
      help: 'DeviceQuery reader discoveries by outcome class and reason.',
      labelNames: ['outcome', 'reason'],
      registers: [registry],
    });
    this.intellaRequests = new Counter({
      name: METRICS.intellaRequests,
      help:
        'HTTP requests to intella by ServiceType and result (the StatusCode, "other", or a call failure such ' +
        'as TIMEOUT or RESPONSE_UNREADABLE).',
      labelNames: ['service_type', 'result'],
      registers: [registry],
    });
    this.intellaDuration = new Histogram({
      name: METRICS.intellaDuration,
      help: 'Time of one HTTP request to intella, by ServiceType.',
      labelNames: ['service_type'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    this.keyReleases = new Counter({
      name: METRICS.keyReleases,
      help: 'Requests for a reader key on tillbus.easycard.session.key, by result (released, not_usable, not_found, unavailable).',
      labelNames: ['result'],
      registers: [registry],
    });
    this.unreadableKeys = new Counter({
      name: METRICS.unreadableKeys,
      help:
        'Stored reader keys that did not open with the current key material (new or rotated key-encryption key); ' +
        'each starts a new SignOn at once (reason KEY_UNREADABLE).',
      registers: [registry],
    });
    this.events = new Counter({
      name: METRICS.events,
      help: 'Session events published to JetStream, by type.',
      labelNames: ['type'],
      registers: [registry],
    });
    this.eventFailures = new Counter({
      name: METRICS.eventFailures,
      help: 'Attempts to publish session events that failed (they stay queued and are published later).',
      registers: [registry],
    });
  }
}
