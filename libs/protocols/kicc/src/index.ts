export * from './errors';
export * from './json';
export * from './card-data';
export * from './commands';
export * from './bridge';
