import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { NatsConnectionManager } from './connection';

/** Metrics of the bus layer itself. Labels are handler patterns and codes: bounded by construction. */
export class BusMetrics {
  readonly handled: Counter<'subject' | 'code'>;
  readonly handlerDuration: Histogram<'subject'>;
  readonly requestsSent: Counter<'subject' | 'code'>;
  readonly consumerMessages: Counter<'stream' | 'consumer' | 'result'>;
  readonly deadLetters: Counter<'stream' | 'consumer'>;

  private readonly handledChildren = new Map<
    string,
    { count: Counter.Internal; duration: Histogram.Internal<'subject'> }
  >();

  constructor(registry: Registry, connection: NatsConnectionManager) {
    this.handled = new Counter({
      name: 'tillbus_bus_requests_handled_total',
      help: 'Requests handled, by handler subject and result code (OK or the error code).',
      labelNames: ['subject', 'code'],
      registers: [registry],
    });
    this.handlerDuration = new Histogram({
      name: 'tillbus_bus_request_duration_seconds',
      help: 'Time from receiving a request to publishing its reply.',
      labelNames: ['subject'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120],
      registers: [registry],
    });
    this.requestsSent = new Counter({
      name: 'tillbus_bus_requests_sent_total',
      help: 'Requests this service sent, by subject and result code.',
      labelNames: ['subject', 'code'],
      registers: [registry],
    });
    this.consumerMessages = new Counter({
      name: 'tillbus_jetstream_messages_total',
      help: 'Messages processed by durable consumers, by result (acked, retried, dead_lettered).',
      labelNames: ['stream', 'consumer', 'result'],
      registers: [registry],
    });
    this.deadLetters = new Counter({
      name: 'tillbus_jetstream_dead_letters_total',
      help: 'Messages moved to the dead-letter subject after max-deliver or a permanent failure.',
      labelNames: ['stream', 'consumer'],
      registers: [registry],
    });
    new Gauge({
      name: 'tillbus_nats_connected',
      help: '1 while the service is connected to NATS, 0 otherwise.',
      registers: [registry],
      collect() {
        this.set(connection.isConnected() ? 1 : 0);
      },
    });
  }

  /** Hot path: label children are resolved once per (subject, code), not hashed on every request. */
  recordHandled(subject: string, code: string, seconds: number): void {
    const key = `${subject}\u0000${code}`;
    let children = this.handledChildren.get(key);
    if (!children) {
      children = {
        count: this.handled.labels(subject, code),
        duration: this.handlerDuration.labels(subject),
      };
      this.handledChildren.set(key, children);
    }
    children.count.inc();
    children.duration.observe(seconds);
  }
}
