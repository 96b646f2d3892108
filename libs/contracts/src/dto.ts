/*
 * What tillbus validates on arrival, as class-validator DTOs (the bus validation pipe and the consumers use them):
 * the request payloads of every service's bus API, and the order events a POS publishes. Apart from the index
 * because class-validator is heavy: a light client such as the CLI never loads it.
 */
export * from './device-health/requests';
export * from './orders/requests';
export * from './orders/event-payloads';
export * from './edc/requests';
export * from './edc/settle-request';
export * from './easycard/requests';
