import { describe, expect, it } from 'vitest';
import { HEALTH_REASON_NAMES } from '@tillbus/result-codes';
import { failedExchange, normaliseReasons, sameReasons, statusOf } from './terminal-health';

describe('statusOf', () => {
  it.each([
    [[], 'READY'],
    [['PRINTER_PAPER_LOW'], 'READY'],
    [['BUSY'], 'DEGRADED'],
    [['BATTERY_LOW', 'PRINTER_PAPER_LOW'], 'DEGRADED'],
    [['AUTH_ERROR', 'BUSY'], 'UNKNOWN'],
    [['UNREACHABLE'], 'DOWN'],
    [['TAMPERED', 'BUSY', 'STALE'], 'DOWN'],
  ] as const)('%j -> %s', (reasons, status) => {
    expect(statusOf(reasons)).toBe(status);
  });

  it('makes TAMPERED DOWN whatever comes with it, and lists it first', () => {
    for (const other of HEALTH_REASON_NAMES) {
      expect(statusOf([other, 'TAMPERED'])).toBe('DOWN');
      expect(normaliseReasons([other, 'TAMPERED'])[0]).toBe('TAMPERED');
    }
  });
});

describe('reasons', () => {
  it('sorts most severe first, then by name, without duplicates', () => {
    expect(normaliseReasons(['BUSY', 'TAMPERED', 'AUTH_ERROR', 'BUSY', 'BATTERY_LOW'])).toEqual([
      'TAMPERED',
      'AUTH_ERROR',
      'BATTERY_LOW',
      'BUSY',
    ]);
    expect(sameReasons(['BUSY', 'BATTERY_LOW'], ['BATTERY_LOW', 'BUSY'])).toBe(true);
    expect(sameReasons(['BUSY'], ['BUSY', 'BATTERY_LOW'])).toBe(false);
  });

  it.each([
    ['unreachable', 'UNREACHABLE'],
    ['timeout', 'UNREACHABLE'],
    ['auth_error', 'AUTH_ERROR'],
    ['config_error', 'CONFIG_ERROR'],
    ['malformed', 'MALFORMED_RESPONSE'],
    ['vendor_error', 'VENDOR_ERROR'],
  ] as const)('a failed exchange (%s) is %s', (outcome, reason) => {
    expect(failedExchange(outcome, 'x'.repeat(400))).toMatchObject({
      reasons: [reason],
      outcome,
      details: { error: 'x'.repeat(300) },
    });
  });
});
