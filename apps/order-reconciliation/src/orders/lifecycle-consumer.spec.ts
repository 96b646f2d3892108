import { retryWindowMs } from '@tillbus/messaging';
import { describe, expect, it } from 'vitest';
import { OrderReconciliationConfig } from '../config';
import { LIFECYCLE_RETRY_MS } from './lifecycle-consumer';

describe('the POS lifecycle consumer retry schedule', () => {
  const defaults = new OrderReconciliationConfig();

  it('waits at most 2 s between tries, so events flow within seconds of the bus coming back', () => {
    expect(Math.max(...LIFECYCLE_RETRY_MS)).toBeLessThanOrEqual(2_000);
  });

  it('still retries an event for minutes before dead-lettering it, to outlast a broker outage', () => {
    const window = retryWindowMs(LIFECYCLE_RETRY_MS, defaults.EVENTS_MAX_DELIVER);
    expect(window).toBeGreaterThanOrEqual(5 * 60_000);
    expect(window).toBeLessThan(10 * 60_000);
  });
});
