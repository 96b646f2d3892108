/**
 * The bus contract alone: subject names, the error envelope and its codes, header names, payload shapes and the
 * JSON decoder. No Nest, no NATS client, no metrics: what a light client such as the CLI needs, loaded in a few
 * milliseconds (`@tillbus/messaging/contract`; a test keeps @nestjs/* out of this module graph).
 */
export * from './subjects';
export * from './errors';
export * from './header-names';
export * from './contracts';
export { decodeJsonPayload, type DecodedPayload } from './payload';
