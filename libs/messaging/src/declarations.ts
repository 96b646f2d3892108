import { AckPolicy, DeliverPolicy, type ConsumerConfig } from '@nats-io/jetstream';
import { deadLetterStream, streamDefaults, type StreamDeclaration } from './jetstream';
import type { KvBucketDeclaration } from './options';
import {
  deadLetterSubject,
  EVENT_SUBJECTS,
  SERVICES,
  STREAMS,
  type ServiceName,
} from '@tillbus/contracts';

/**
 * The one definition of every JetStream stream, KV bucket and durable consumer tillbus uses. `tillbus provision`
 * applies it with the provisioner identity (production: a Kubernetes Job); a service only checks that its part
 * exists (or, in development and tests with NATS_PROVISIONING=apply, applies its own part of this same list).
 */

export const BUCKETS = {
  deviceHealth: {
    /** terminalId -> TerminalRecord (references to secrets, never secrets). */
    terminals: 'tillbus_device_health_terminals',
    /** terminalId -> the latest TerminalHealth. */
    health: 'tillbus_device_health_health',
    /** `<intervalMs>.<terminalId>.<intervalIndex>` -> who diagnoses that terminal in that interval (TTL). */
    claims: 'tillbus_device_health_poll_claims',
    /** `slot-<n>` -> the replica that holds Adyen ServiceID slot n (TTL = lease). */
    serviceIdSlots: 'tillbus_device_health_service_id_slots',
  },
  orderReconciliation: {
    orders: 'tillbus_order_reconciliation_orders',
    replay: 'tillbus_order_reconciliation_replay',
  },
  edcCommand: {
    commands: 'tillbus_edc_command_commands',
    devices: 'tillbus_edc_command_devices',
    owners: 'tillbus_edc_command_owners',
    inDoubt: 'tillbus_edc_command_in_doubt',
  },
  easycardSession: {
    sessions: 'tillbus_easycard_session_sessions',
    schedule: 'tillbus_easycard_session_schedule',
  },
} as const;

/** The stream of KICC bridge events and results (libs/protocols/kicc KICC_BRIDGE_STREAM; a spec keeps them equal). */
export const EDC_BRIDGE_STREAM = 'TILLBUS_EDC_BRIDGE';
export const EDC_BRIDGE_EVENTS = 'tillbus.edc.bridge.*.events';

export const DURABLES = {
  orderLifecycle: 'order-reconciliation-lifecycle',
  orderOutbox: 'order-reconciliation-outbox',
  edcBridge: 'edc-command',
  edcBridgeParked: 'edc-command-parked',
} as const;

/** What a durable consumer's server-side configuration is made of (DurableConsumer reads the same). */
export interface DurableDeclaration {
  stream: string;
  durable: string;
  /** One subject filter (wildcards allowed): nats-server 2.9 has no multi-filter consumers. */
  filterSubject: string;
  /** Deliveries before our code dead-letters; the server's own bound is one above (or unbounded with -1). */
  maxDeliver: number;
  ackWaitMs: number;
  /** Messages one replica processes at once. */
  concurrency: number;
  /** Unacknowledged messages the server lets out at once (default concurrency × 4). */
  maxAckPending?: number;
  deliverPolicy?: DeliverPolicy;
}

export function durableConsumerConfig(
  d: DurableDeclaration,
): Partial<ConsumerConfig> & { durable_name: string } {
  return {
    durable_name: d.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: d.deliverPolicy ?? DeliverPolicy.All,
    ack_wait: d.ackWaitMs * MS_TO_NS,
    // The server's own bound is a safety net one above ours: our code dead-letters first.
    max_deliver: d.maxDeliver < 0 ? -1 : d.maxDeliver + 1,
    filter_subject: d.filterSubject,
    max_ack_pending: d.maxAckPending ?? Math.max(1, d.concurrency * 4),
  };
}

export interface Provisioning {
  streams: StreamDeclaration[];
  buckets: KvBucketDeclaration[];
  consumers: DurableDeclaration[];
}

/**
 * The settings the declarations depend on: the services' own configuration values of the same names, so a
 * provisioning Job reads the services' ConfigMaps and declares exactly what the services expect.
 */
export interface ProvisioningSettings {
  STREAM_REPLICAS: number;
  // device-health
  EVENTS_MAX_PER_TERMINAL: number;
  EVENTS_MAX_AGE_MS: number;
  POLL_INTERVAL_MS: number;
  ADYEN_SERVICE_ID_LEASE_MS: number;
  // order-reconciliation
  ORDERS_STREAM_MAX_AGE_MS: number;
  ORDER_RETENTION_MS: number;
  SIGNATURE_WINDOW_MS: number;
  EVENTS_MAX_DELIVER: number;
  EVENTS_ACK_WAIT_MS: number;
  OUTBOX_ACK_WAIT_MS: number;
  OUTBOX_CONCURRENCY: number;
  // edc-command
  EDC_RECORD_TTL_MS: number;
  EDC_OWNER_LEASE_MS: number;
  EDC_CONSUMER_CONCURRENCY: number;
}

/** The services' defaults (each service's config class; tools/deploy checks they agree). */
export const PROVISIONING_DEFAULTS: ProvisioningSettings = {
  STREAM_REPLICAS: 1,
  EVENTS_MAX_PER_TERMINAL: 100,
  EVENTS_MAX_AGE_MS: 7 * 86_400_000,
  POLL_INTERVAL_MS: 30_000,
  ADYEN_SERVICE_ID_LEASE_MS: 30_000,
  ORDERS_STREAM_MAX_AGE_MS: 7 * 86_400_000,
  ORDER_RETENTION_MS: 30 * 86_400_000,
  SIGNATURE_WINDOW_MS: 300_000,
  EVENTS_MAX_DELIVER: 200,
  EVENTS_ACK_WAIT_MS: 30_000,
  OUTBOX_ACK_WAIT_MS: 30_000,
  OUTBOX_CONCURRENCY: 16,
  EDC_RECORD_TTL_MS: 72 * 3_600_000,
  EDC_OWNER_LEASE_MS: 15_000,
  EDC_CONSUMER_CONCURRENCY: 64,
};

const MS_TO_NS = 1_000_000;
const EASYCARD_EVENTS_MAX_AGE_MS = 7 * 86_400_000;
const EDC_BRIDGE_RETENTION_MS = 72 * 3_600_000;
const EDC_BRIDGE_DUPLICATE_WINDOW_MS = 2 * 60_000;

type Settings = Partial<ProvisioningSettings>;
const withDefaults = (s: Settings): ProvisioningSettings => ({ ...PROVISIONING_DEFAULTS, ...s });

export function deviceHealthProvisioning(settings: Settings): Provisioning {
  const s = withDefaults(settings);
  const b = BUCKETS.deviceHealth;
  return {
    streams: [
      {
        ...streamDefaults(
          STREAMS.terminalHealth,
          [EVENT_SUBJECTS.terminalHealthAll],
          s.STREAM_REPLICAS,
        ),
        max_msgs_per_subject: s.EVENTS_MAX_PER_TERMINAL,
        max_age: s.EVENTS_MAX_AGE_MS * MS_TO_NS,
      },
    ],
    buckets: [
      { name: b.terminals, history: 5 },
      { name: b.health },
      // Claims live two intervals: longer than any replica will still try one (half an interval late).
      { name: b.claims, ttlMs: 2 * s.POLL_INTERVAL_MS },
      { name: b.serviceIdSlots, ttlMs: s.ADYEN_SERVICE_ID_LEASE_MS },
    ],
    consumers: [],
  };
}

/** order-reconciliation's two consumers of TILLBUS_ORDERS: POS lifecycle events, and the D-Store outbox. */
export const orderLifecycleConsumer = (settings: Settings): DurableDeclaration => {
  const s = withDefaults(settings);
  return {
    stream: STREAMS.orders,
    durable: DURABLES.orderLifecycle,
    filterSubject: EVENT_SUBJECTS.ordersAll,
    maxDeliver: s.EVENTS_MAX_DELIVER,
    ackWaitMs: s.EVENTS_ACK_WAIT_MS,
    concurrency: 16,
  };
};

export const orderOutboxConsumer = (settings: Settings): DurableDeclaration => {
  const s = withDefaults(settings);
  return {
    stream: STREAMS.orders,
    durable: DURABLES.orderOutbox,
    filterSubject: 'tillbus.events.orders.notify.>',
    // Our delivery state machine bounds the attempts; the server must never give up on a message by itself.
    maxDeliver: -1,
    ackWaitMs: s.OUTBOX_ACK_WAIT_MS,
    concurrency: s.OUTBOX_CONCURRENCY,
    maxAckPending: s.OUTBOX_CONCURRENCY * 64,
  };
};

export function orderReconciliationProvisioning(settings: Settings): Provisioning {
  const s = withDefaults(settings);
  const b = BUCKETS.orderReconciliation;
  return {
    streams: [
      {
        ...streamDefaults(STREAMS.orders, [EVENT_SUBJECTS.ordersAll], s.STREAM_REPLICAS),
        max_age: s.ORDERS_STREAM_MAX_AGE_MS * MS_TO_NS,
      },
    ],
    buckets: [
      { name: b.orders, ttlMs: s.ORDER_RETENTION_MS, history: 1 },
      { name: b.replay, ttlMs: 2 * s.SIGNATURE_WINDOW_MS, history: 1 },
    ],
    consumers: [orderLifecycleConsumer(s), orderOutboxConsumer(s)],
  };
}

/** edc-command's consumer of bridge results: a result must not be dropped for a passing outage. */
export const edcBridgeConsumer = (settings: Settings): DurableDeclaration => ({
  stream: EDC_BRIDGE_STREAM,
  durable: DURABLES.edcBridge,
  filterSubject: EDC_BRIDGE_EVENTS,
  // retry for hours before dead-lettering
  maxDeliver: 600,
  // a message pulled by a replica that died is delivered again this soon (applying one twice is harmless)
  ackWaitMs: 5_000,
  concurrency: withDefaults(settings).EDC_CONSUMER_CONCURRENCY,
});

/**
 * edc-command's consumer of the bridge messages it dead-lettered (a result for a record it could not find yet):
 * parked, never dropped, and applied once the record can be read.
 */
export const edcBridgeParkedConsumer = (): DurableDeclaration => ({
  stream: STREAMS.deadLetters,
  durable: DURABLES.edcBridgeParked,
  filterSubject: deadLetterSubject(EDC_BRIDGE_STREAM, DURABLES.edcBridge),
  maxDeliver: -1,
  ackWaitMs: 30_000,
  concurrency: 4,
});

export function edcCommandProvisioning(settings: Settings): Provisioning {
  const s = withDefaults(settings);
  const b = BUCKETS.edcCommand;
  return {
    streams: [
      {
        ...streamDefaults(STREAMS.edc, [EVENT_SUBJECTS.edcAll], s.STREAM_REPLICAS),
        max_age: s.EDC_RECORD_TTL_MS * MS_TO_NS,
      },
      {
        ...streamDefaults(EDC_BRIDGE_STREAM, [EDC_BRIDGE_EVENTS], s.STREAM_REPLICAS),
        max_age: EDC_BRIDGE_RETENTION_MS * MS_TO_NS,
        duplicate_window: EDC_BRIDGE_DUPLICATE_WINDOW_MS * MS_TO_NS,
      },
    ],
    // Payment state (records, device locks, leases, the in-doubt index) is read from the stream leader only: a
    // replica that lags after a partition must never answer "no such command" for one that runs.
    buckets: [
      { name: b.commands, ttlMs: s.EDC_RECORD_TTL_MS, allowDirect: false },
      { name: b.devices, ttlMs: 30 * 86_400_000, allowDirect: false },
      { name: b.owners, ttlMs: s.EDC_OWNER_LEASE_MS, allowDirect: false },
      { name: b.inDoubt, ttlMs: s.EDC_RECORD_TTL_MS, allowDirect: false },
    ],
    consumers: [edcBridgeConsumer(s), edcBridgeParkedConsumer()],
  };
}

export function easycardSessionProvisioning(settings: Settings): Provisioning {
  const s = withDefaults(settings);
  const b = BUCKETS.easycardSession;
  return {
    streams: [
      {
        ...streamDefaults(STREAMS.easycard, [EVENT_SUBJECTS.easycardSessionAll], s.STREAM_REPLICAS),
        max_age: EASYCARD_EVENTS_MAX_AGE_MS * MS_TO_NS,
      },
    ],
    buckets: [{ name: b.sessions }, { name: b.schedule }],
    consumers: [],
  };
}

const BY_SERVICE: Record<ServiceName, (s: Settings) => Provisioning> = {
  [SERVICES.deviceHealth]: deviceHealthProvisioning,
  [SERVICES.orderReconciliation]: orderReconciliationProvisioning,
  [SERVICES.edcCommand]: edcCommandProvisioning,
  [SERVICES.easycardSession]: easycardSessionProvisioning,
};

/** One service's part, with the shared dead-letter stream every durable consumer writes to. */
export function serviceProvisioning(service: ServiceName, settings: Settings): Provisioning {
  const own = BY_SERVICE[service](settings);
  return {
    ...own,
    streams: [deadLetterStream(withDefaults(settings).STREAM_REPLICAS), ...own.streams],
  };
}

/** Everything, for `tillbus provision`: the dead-letter stream once, then every service's part. */
export function tillbusProvisioning(settings: Settings): Provisioning {
  const parts = Object.values(BY_SERVICE).map((part) => part(settings));
  return {
    streams: [
      deadLetterStream(withDefaults(settings).STREAM_REPLICAS),
      ...parts.flatMap((p) => p.streams),
    ],
    buckets: parts.flatMap((p) => p.buckets),
    consumers: parts.flatMap((p) => p.consumers),
  };
}
