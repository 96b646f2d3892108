import { BUCKETS as DECLARED_BUCKETS } from '@tillbus/messaging';

/** KV buckets of device-health, shared by every replica (declared in libs/messaging declarations). */
export const BUCKETS = DECLARED_BUCKETS.deviceHealth;

export const DEVICE_HEALTH_CONFIG = Symbol('DEVICE_HEALTH_CONFIG');
/** The environment secret references are resolved from (process.env in production). */
export const SECRET_ENV = Symbol('SECRET_ENV');
/** This replica's name, in claims and logs. */
export const REPLICA_ID = Symbol('REPLICA_ID');
/** Terminals read from TERMINALS_FILE (validated before the app starts). */
export const SEED_TERMINALS = Symbol('SEED_TERMINALS');
