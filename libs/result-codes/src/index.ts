export * from './outcome';
export * from './machine';
export * from './antom';
export * from './adyen';
export * from './kicc';
export * from './intella';
