import { ConfigError, loadConfig } from '@tillbus/config';
import { describe, expect, it } from 'vitest';
import { EdcCommandConfig, recoveryBackoff } from './config';

describe('EdcCommandConfig', () => {
  it('defaults to the seed timeouts', () => {
    const config = loadConfig(EdcCommandConfig, {});
    expect(config).toMatchObject({
      EDC_TIMEOUT_PURCHASE_MS: 95_000,
      EDC_TIMEOUT_PURCHASE_SIGNATURE_MS: 115_000,
      EDC_TIMEOUT_PURCHASE_CANCEL_MS: 85_000,
      EDC_TIMEOUT_GET_LAST_TRANSACTION_MS: 5_000,
      EDC_TIMEOUT_COMMAND_CANCEL_MS: 5_000,
      EDC_RECOVERY_WITHOUT_REQUEST_ID: 'fresh-transaction',
      EDC_AUTO_CANCEL_ON_EXPIRY: true,
      EDC_RECORD_TTL_MS: 72 * 3_600_000,
    });
    expect(config.REPLICA_ID).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    expect(recoveryBackoff(config)).toEqual([0, 10_000, 30_000]);
  });

  it.each([
    ['true', true],
    ['1', true],
    ['false', false],
    ['0', false],
  ])('reads EDC_AUTO_CANCEL_ON_EXPIRY=%s as %s, like every boolean setting', (raw, expected) => {
    expect(
      loadConfig(EdcCommandConfig, { EDC_AUTO_CANCEL_ON_EXPIRY: raw }).EDC_AUTO_CANCEL_ON_EXPIRY,
    ).toBe(expected);
  });

  it('refuses a boolean setting that is neither true/false nor 1/0', () => {
    expect(() => loadConfig(EdcCommandConfig, { EDC_AUTO_CANCEL_ON_EXPIRY: 'yes' })).toThrow(
      /EDC_AUTO_CANCEL_ON_EXPIRY/,
    );
  });

  it('reads its variables and names every bad one, never the value', () => {
    expect(
      loadConfig(EdcCommandConfig, {
        EDC_AUTO_CANCEL_ON_EXPIRY: 'false',
        EDC_RECOVERY_BACKOFF_MS: '5',
      }),
    ).toMatchObject({
      EDC_AUTO_CANCEL_ON_EXPIRY: false,
      EDC_RECOVERY_BACKOFF_MS: '5',
    });
    let error: ConfigError | undefined;
    try {
      loadConfig(EdcCommandConfig, {
        REPLICA_ID: 'a.b',
        EDC_TIMEOUT_PURCHASE_MS: '5',
        EDC_RECOVERY_BACKOFF_MS: 'soon',
        EDC_RECOVERY_WITHOUT_REQUEST_ID: 'always-guess',
      });
    } catch (caught) {
      error = caught as ConfigError;
    }
    expect(error?.violations.map((v) => v.field).sort()).toEqual([
      'EDC_RECOVERY_BACKOFF_MS',
      'EDC_RECOVERY_WITHOUT_REQUEST_ID',
      'EDC_TIMEOUT_PURCHASE_MS',
      'REPLICA_ID',
    ]);
    expect(error?.message).not.toContain('always-guess');
  });

  it.each([
    ['99', 'below its 100 ms floor'],
    ['3600001', 'above its hour'],
    ['30s', 'not a whole number of milliseconds'],
    ['-1', 'negative'],
  ])('refuses EDC_PARKED_RETRY_MS=%j (%s), naming it', (raw) => {
    expect(() => loadConfig(EdcCommandConfig, { EDC_PARKED_RETRY_MS: raw })).toThrow(
      /EDC_PARKED_RETRY_MS/,
    );
  });

  it('reads EDC_PARKED_RETRY_MS within its bounds, 30 s when unset or empty (as every setting)', () => {
    expect(loadConfig(EdcCommandConfig, {}).EDC_PARKED_RETRY_MS).toBe(30_000);
    expect(loadConfig(EdcCommandConfig, { EDC_PARKED_RETRY_MS: '' }).EDC_PARKED_RETRY_MS).toBe(
      30_000,
    );
    expect(loadConfig(EdcCommandConfig, { EDC_PARKED_RETRY_MS: '100' }).EDC_PARKED_RETRY_MS).toBe(
      100,
    );
  });
});
