import { collectDefaultMetrics, Registry } from 'prom-client';

/** The process's registry: default Node metrics plus whatever the service registers on it. */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // prom-client names these gauges with a counter's `_total` suffix, which promtool rejects; the same values
  // stay available as nodejs_active_handles, nodejs_active_requests and nodejs_active_resources.
  for (const misnamed of MISNAMED_DEFAULT_GAUGES) registry.removeSingleMetric(misnamed);
  return registry;
}

const MISNAMED_DEFAULT_GAUGES = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];
