/**
 * The KV-record toolkit, the one home of what every service needs around records in NATS KV:
 * - `Clock` (with `systemClock`, `createClock` for demos, `ManualClock` and `ShiftableClock` for tests);
 * - compare-and-set with retry (`compareAndSet`, `updateWithRevision`, `createIfAbsent`, `writeIfRevision`);
 * - the watch-fed local copy of a bucket (`KvMirror`) and a one-pass read of it (`scanLatest`);
 * - the outbox that publishes with JetStream message ids until the stream acks (`JetStreamOutbox`).
 */
export * from './clock';
export * from './manual-clock';
export * from './shiftable-clock';
export * from './scaled-clock';
export * from './retry';
export * from './compare-and-set';
export * from './kv-mirror';
export * from './kv-scan';
export * from './outbox';
