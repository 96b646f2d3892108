import { ConfigError } from '@tillbus/config';
import { describe, expect, it } from 'vitest';
import { loadEasyCardSessionConfig } from './config';

const BASE = {
  INTELLA_MERCHANTS: '[]',
  EASYCARD_KEY_ENCRYPTION_KEY: 'env:KEK',
};

function violations(env: Record<string, string>): string[] {
  try {
    loadEasyCardSessionConfig({ ...BASE, ...env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).violations.map((v) => v.field).sort();
  }
  return [];
}

describe('easycard-session configuration', () => {
  it('has the documented defaults', () => {
    const config = loadEasyCardSessionConfig(BASE);
    expect(config).toMatchObject({
      INTELLA_DEVICE_LIST_FIELD: 'DeviceList',
      INTELLA_DEVICE_LIST_ID_FIELD: 'DeviceId',
      INTELLA_TIMEOUT_MS: 10_000,
      INTELLA_MAX_TRIES: 3,
      EASYCARD_RENEWAL_MARGIN_MS: 2 * 3_600_000,
      EASYCARD_EXPIRING_NOTICE_MS: 3_600_000,
      EASYCARD_SETTLEMENT_ENABLED: true,
      EASYCARD_SETTLEMENT_TIME: '22:00',
      EASYCARD_CLOSING_TIME: '23:30',
      EASYCARD_UTC_OFFSET_MINUTES: 480,
      EASYCARD_CLOCK_RATE: 1,
    });
  });

  it.each([
    [{ EASYCARD_SETTLEMENT_ENABLED: 'false' }, false],
    [{ EASYCARD_SETTLEMENT_ENABLED: '0' }, false],
    [{ EASYCARD_SETTLEMENT_ENABLED: 'true' }, true],
  ])('reads %j as a boolean', (env, value) => {
    expect(loadEasyCardSessionConfig({ ...BASE, ...env }).EASYCARD_SETTLEMENT_ENABLED).toBe(value);
  });

  it.each([
    [{ EASYCARD_SETTLEMENT_ENABLED: 'maybe' }, ['EASYCARD_SETTLEMENT_ENABLED']],
    [{ EASYCARD_SETTLEMENT_TIME: '25:00' }, ['EASYCARD_SETTLEMENT_TIME']],
    [
      { EASYCARD_SETTLEMENT_TIME: '23:00', EASYCARD_CLOSING_TIME: '22:00' },
      ['EASYCARD_SETTLEMENT_TIME'],
    ],
    [{ EASYCARD_CLOCK_RATE: '60' }, ['EASYCARD_CLOCK_EPOCH_MS']],
    [{ EASYCARD_CLOCK_OFFSET_FILE: 'relative' }, ['EASYCARD_CLOCK_OFFSET_FILE']],
    [{ EASYCARD_RENEWAL_MARGIN_MS: String(30 * 3_600_000) }, ['EASYCARD_RENEWAL_MARGIN_MS']],
    [
      { EASYCARD_BACKOFF_BASE_MS: '60000', EASYCARD_BACKOFF_MAX_MS: '1000' },
      ['EASYCARD_BACKOFF_MAX_MS'],
    ],
    [{ INTELLA_DEVICE_LIST_FIELD: 'a.b' }, ['INTELLA_DEVICE_LIST_FIELD']],
    [{ EASYCARD_LEASE_MS: '30000' }, ['EASYCARD_LEASE_MS']],
    [{ INTELLA_MAX_TRIES: '0', EASYCARD_TICK_MS: '1' }, ['EASYCARD_TICK_MS', 'INTELLA_MAX_TRIES']],
  ])('refuses %j', (env, fields) => {
    expect(violations(env)).toEqual(fields);
  });

  it('requires the merchants and the key-encryption key', () => {
    expect(() => loadEasyCardSessionConfig({})).toThrow(
      /INTELLA_MERCHANTS.*EASYCARD_KEY_ENCRYPTION_KEY|EASYCARD_KEY_ENCRYPTION_KEY.*INTELLA_MERCHANTS/,
    );
  });
});
