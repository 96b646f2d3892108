/*
 * Everything Nest in a tillbus service: the bootstrap (startService, runServiceMain), the global modules that
 * register the observability and messaging classes, and the NATS transport with its validation pipe and
 * exception filter (the one place where errors become replies). The NATS wiring itself is @tillbus/messaging,
 * which knows nothing of Nest.
 */
export * from './observability.module';
export * from './messaging.module';
export * from './bus-validation';
export * from './bus-errors';
export * from './server';
export * from './bootstrap';
