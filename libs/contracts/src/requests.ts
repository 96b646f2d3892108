/** The request payloads of every service's bus API, as class-validator DTOs (the bus validation pipe uses them). */
export * from './device-health/requests';
export * from './orders/requests';
export * from './edc/requests';
export * from './easycard/requests';
