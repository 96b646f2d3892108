export * from './nats-server';
export * from './wait';
export * from './processes';
export * from './promtool';
export * from './tls';
export * from './nats-cluster';
