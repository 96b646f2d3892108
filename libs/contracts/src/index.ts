/**
 * The bus contract of tillbus: subject names, the error envelope and each service's error codes, header names, ids,
 * and the reply and event shapes. No Nest, no NATS client and no class-validator: what a light client such as the
 * CLI needs (apps/cli/test/module-graph.test.ts pins it). What is validated on arrival (the request DTOs, the POS's
 * order events) uses class-validator: `@tillbus/contracts/dto`. Code lists (statuses, reasons, phases) are in @tillbus/result-codes.
 */
export * from './subjects';
export * from './errors';
export * from './headers';
export * from './device-health/ids';
export * from './device-health/views';
export * from './device-health/errors';
export * from './orders/views';
export * from './orders/events';
export * from './orders/errors';
export * from './edc/views';
export * from './edc/settlement';
export * from './edc/errors';
export * from './easycard/ids';
export * from './easycard/views';
export * from './easycard/events';
export * from './easycard/errors';
