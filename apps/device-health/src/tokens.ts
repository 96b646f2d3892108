/** KV buckets of device-health, shared by every replica. */
export const BUCKETS = {
  /** terminalId -> TerminalRecord (references to secrets, never secrets). */
  terminals: 'tillbus_device_health_terminals',
  /** terminalId -> the latest TerminalHealth. */
  health: 'tillbus_device_health_health',
  /** `<intervalMs>.<terminalId>.<intervalIndex>` -> who diagnoses that terminal in that interval (TTL). */
  claims: 'tillbus_device_health_poll_claims',
  /** `slot-<n>` -> the replica that holds Adyen ServiceID slot n (TTL = lease). */
  serviceIdSlots: 'tillbus_device_health_service_id_slots',
} as const;

export const DEVICE_HEALTH_CONFIG = Symbol('DEVICE_HEALTH_CONFIG');
/** The environment secret references are resolved from (process.env in production). */
export const SECRET_ENV = Symbol('SECRET_ENV');
/** This replica's name, in claims and logs. */
export const REPLICA_ID = Symbol('REPLICA_ID');
/** Terminals read from TERMINALS_FILE (validated before the app starts). */
export const SEED_TERMINALS = Symbol('SEED_TERMINALS');
