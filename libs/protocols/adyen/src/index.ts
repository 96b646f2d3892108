export * from './errors';
export * from './terminal-api';
export * from './service-id';
export * from './poi-id';
export * from './additional-response';
export * from './diagnosis-request';
export * from './diagnosis-response';
export * from './diagnosis-health';
