export * from './correlation';
export * from './redact';
export * from './logged-error';
export * from './json-logger';
export * from './metrics';
export * from './ops-server';
export * from './background-tasks';
