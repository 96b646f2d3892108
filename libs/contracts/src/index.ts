/**
 * The bus contract of tillbus: subject names, the error envelope and each service's error codes, header names, ids,
 * and the reply and event shapes. No Nest, no NATS client and no class-validator: what a light client such as the
 * CLI needs (apps/cli/test/module-graph.test.ts pins it). The request DTOs, which validate with class-validator,
 * are `@tillbus/contracts/requests`. Code lists (statuses, reasons, phases) are in @tillbus/result-codes.
 */
export * from './subjects';
export * from './errors';
export * from './headers';
export * from './device-health/ids';
export * from './device-health/views';
export * from './orders/views';
export * from './edc/views';
export * from './easycard/ids';
export * from './easycard/views';
export * from './easycard/errors';
