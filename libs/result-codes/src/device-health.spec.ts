import { describe, expect, it } from 'vitest';
import {
  DIAGNOSIS_OUTCOMES,
  HEALTH_REASON_NAMES,
  HEALTH_REASONS,
  HEALTH_STATUSES,
  HEALTH_VENDORS,
} from './device-health';

describe('device-health codes', () => {
  it('gives every reason a severity, a meaning and an action', () => {
    for (const reason of HEALTH_REASON_NAMES) {
      expect(reason).toMatch(/^[A-Z][A-Z_]+$/);
      expect(['down', 'unknown', 'degraded', 'advisory']).toContain(
        HEALTH_REASONS[reason].severity,
      );
      expect(HEALTH_REASONS[reason].meaning.length).toBeGreaterThan(10);
      expect(HEALTH_REASONS[reason].action.length).toBeGreaterThan(5);
    }
  });

  it('keeps the names the bus, the events and the metrics already use', () => {
    expect(HEALTH_STATUSES).toEqual(['READY', 'DEGRADED', 'DOWN', 'UNKNOWN']);
    expect(HEALTH_VENDORS).toEqual(['antom', 'adyen']);
    expect(DIAGNOSIS_OUTCOMES).toEqual([
      'ok',
      'busy',
      'unreachable',
      'timeout',
      'auth_error',
      'config_error',
      'malformed',
      'vendor_error',
    ]);
    expect(HEALTH_REASONS.TAMPERED.severity).toBe('down');
    expect(HEALTH_REASONS.STALE.severity).toBe('unknown');
    // The answer was used: neither may change the status on its own.
    expect(HEALTH_REASONS.UNRECOGNISED_VALUE.severity).toBe('advisory');
    expect(HEALTH_REASONS.CLOCK_SKEW.severity).toBe('advisory');
  });
});
