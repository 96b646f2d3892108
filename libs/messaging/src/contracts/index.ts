/*
 * The reply and event shapes of the services' bus API, type-level only: each service builds them, and every caller
 * (the CLI, other services, tests) reads them from here. Code lists (statuses, reasons, phases) are in
 * @tillbus/result-codes.
 */
export * from './device-health';
export * from './orders';
export * from './edc';
export * from './edc-settlement';
export * from './easycard';
