import { ManualClock } from '@tillbus/messaging';
import { JsonLogger } from '@tillbus/observability';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { OrderReconciliationConfig } from '../config';
import { OrderMetrics } from '../metrics';
import { EdgeRefusals, REFUSAL_LOG_INTERVAL_MS } from './refusals';

function setup(every: number) {
  const lines: Array<Record<string, unknown>> = [];
  const registry = new Registry();
  const clock = new ManualClock(0);
  const refusals = new EdgeRefusals(
    { REFUSAL_LOG_EVERY: every } as OrderReconciliationConfig,
    clock,
    new OrderMetrics(registry),
    new JsonLogger({ service: 'svc', write: (l) => lines.push(JSON.parse(l)) }),
  );
  const counted = async (reason: string) =>
    (
      await registry.getSingleMetric('tillbus_order_reconciliation_edge_refusals_total')!.get()
    ).values.find((v) => v.labels.reason === reason)?.value;
  return { lines, clock, refusals, counted };
}

describe('EdgeRefusals', () => {
  it('counts every refusal, and logs the first, then one line per N carrying the count since the last', async () => {
    const { lines, refusals, counted } = setup(100);
    for (let i = 0; i < 1000; i++) refusals.record('source_rate_limit');
    expect(await counted('source_rate_limit')).toBe(1000);
    expect(lines.map((l) => l.count)).toEqual([1, ...Array(9).fill(100)]);
    expect(lines[0]).toMatchObject({
      level: 'info',
      msg: 'D-Store edge refused requests',
      reason: 'source_rate_limit',
    });
  });

  it('keeps a count per reason, and starts every reason at zero in the metric', async () => {
    const { lines, refusals, counted } = setup(10);
    for (let i = 0; i < 21; i++) refusals.record(i % 3 === 0 ? 'timeout' : 'access_denied');
    expect(lines.map((l) => [l.reason, l.count])).toEqual([
      ['timeout', 1],
      ['access_denied', 1],
      ['access_denied', 10],
    ]);
    expect(await counted('timeout')).toBe(7);
    expect(await counted('connection_cap')).toBe(0);
  });

  it('logs a trickle at most once a minute, with what came since', () => {
    const { lines, clock, refusals } = setup(1000);
    refusals.record('client_aborted');
    for (let i = 0; i < 5; i++) {
      clock.advance(10_000);
      refusals.record('client_aborted');
    }
    expect(lines).toHaveLength(1);
    clock.advance(REFUSAL_LOG_INTERVAL_MS);
    refusals.record('client_aborted');
    expect(lines.map((l) => l.count)).toEqual([1, 6]);
  });

  it('counts a signature failure in both metrics, with the reason as the only detail', () => {
    const { lines, refusals } = setup(1);
    refusals.signatureFailure('CLIENT_ID_MISMATCH');
    refusals.signatureFailure('SIGNATURE_MISMATCH');
    expect(lines.map((l) => [l.reason, l.lastDetail])).toEqual([
      ['access_denied', 'CLIENT_ID_MISMATCH'],
      ['invalid_signature', 'SIGNATURE_MISMATCH'],
    ]);
  });
});
