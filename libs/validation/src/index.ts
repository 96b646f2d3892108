export * from './validate';
export * from './protocol-error';
