import { collectDefaultMetrics, Registry } from 'prom-client';

/** The process's registry: default Node metrics plus whatever the service registers on it. */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

export { Registry as MetricsRegistry } from 'prom-client';
