export * from './validate';
export * from './protocol-error';
export * from './tolerant';
