export * from './errors';
export * from './trade-key';
export * from './time';
export * from './envelope';
export * from './wire';
export * from './schemas';
export * from './redact';
export * from './retry';
export { isJsonObject, type JsonObject } from './codec';
