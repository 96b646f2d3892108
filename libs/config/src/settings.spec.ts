import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './load-config';
import { BooleanSetting, IntSetting, IsSecretRef, NumberSetting } from './settings';

class Settings {
  @IntSetting(1000, 60_000) INTERVAL_MS = 5000;
  @IntSetting(1) UNBOUNDED = 1;
  @NumberSetting(0, 1) RATIO = 0.5;
  @BooleanSetting({ message: 'ENABLED must be true or false' }) ENABLED = true;
  @BooleanSetting() OTHER = false;
  @IsSecretRef() KEY_REF = 'env:KEY';
}

function problems(env: Record<string, string>): string {
  try {
    loadConfig(Settings, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  return '';
}

describe('setting decorators', () => {
  it('read numbers and booleans from environment text', () => {
    const config = loadConfig(Settings, {
      INTERVAL_MS: '2000',
      UNBOUNDED: '99999999',
      RATIO: '0.25',
      ENABLED: '0',
      OTHER: 'true',
      KEY_REF: 'file:/run/secrets/key',
    });
    expect(config).toMatchObject({
      INTERVAL_MS: 2000,
      UNBOUNDED: 99_999_999,
      RATIO: 0.25,
      ENABLED: false,
      OTHER: true,
      KEY_REF: 'file:/run/secrets/key',
    });
    expect(loadConfig(Settings, { ENABLED: '1', OTHER: 'false' })).toMatchObject({
      ENABLED: true,
      OTHER: false,
    });
  });

  it.each([
    [{ INTERVAL_MS: '999' }, 'INTERVAL_MS: INTERVAL_MS must not be less than 1000'],
    [{ INTERVAL_MS: '60001' }, 'INTERVAL_MS: INTERVAL_MS must not be greater than 60000'],
    [{ INTERVAL_MS: '1500.5' }, 'INTERVAL_MS: INTERVAL_MS must be an integer number'],
    [{ UNBOUNDED: '0' }, 'UNBOUNDED: UNBOUNDED must not be less than 1'],
    [{ RATIO: '1.5' }, 'RATIO: RATIO must not be greater than 1'],
    [{ RATIO: 'half' }, 'RATIO must be a number conforming to the specified constraints'],
    [{ ENABLED: 'yes' }, 'ENABLED: ENABLED must be true or false'],
    [{ OTHER: 'on' }, 'OTHER: OTHER must be a boolean value'],
    [{ KEY_REF: '-----BEGIN PRIVATE KEY-----' }, 'KEY_REF: KEY_REF must be a secret reference'],
  ])('refuses %j: %s', (env, message) => {
    expect(problems(env)).toContain(message);
  });

  it('checks an integer setting in the order written out by hand: range, then integer', () => {
    expect(problems({ INTERVAL_MS: 'abc' })).toBe(
      'invalid configuration: INTERVAL_MS: INTERVAL_MS must not be greater than 60000, INTERVAL_MS must not be less than 1000, INTERVAL_MS must be an integer number',
    );
  });

  it('never echoes the refused value', () => {
    const message = problems({ KEY_REF: 'MIIE S3cret/Key+Material==' });
    expect(message).toContain('KEY_REF must be a secret reference');
    expect(message).not.toContain('S3cret');
  });
});
