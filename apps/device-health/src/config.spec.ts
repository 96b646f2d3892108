import { ConfigError } from '@tillbus/config';
import { describe, expect, it } from 'vitest';
import { loadDeviceHealthConfig, servesVendor } from './config';

const load = (env: Record<string, string>) =>
  loadDeviceHealthConfig({ NATS_URL: 'nats://x:4222', ...env });

describe('DEVICE_HEALTH_VENDORS', () => {
  it('defaults to both vendors (one deployment for the whole fleet)', () => {
    expect(load({}).DEVICE_HEALTH_VENDORS).toEqual(['antom', 'adyen']);
    // An empty value is an unset one, as for every setting.
    expect(load({ DEVICE_HEALTH_VENDORS: '' }).DEVICE_HEALTH_VENDORS).toEqual(['antom', 'adyen']);
  });

  it.each<[string, string[]]>([
    ['antom', ['antom']],
    ['adyen', ['adyen']],
    ['antom,adyen', ['antom', 'adyen']],
    ['adyen,antom', ['adyen', 'antom']],
    [' antom , adyen ', ['antom', 'adyen']],
  ])('accepts %j', (value, vendors) => {
    const config = load({ DEVICE_HEALTH_VENDORS: value });
    expect(config.DEVICE_HEALTH_VENDORS).toEqual(vendors);
    expect(servesVendor(config, 'antom')).toBe(vendors.includes('antom'));
    expect(servesVendor(config, 'adyen')).toBe(vendors.includes('adyen'));
  });

  it.each<[string, RegExp]>([
    ['verifone', /DEVICE_HEALTH_VENDORS: .*subset of antom,adyen \(lower case\), got "verifone"/],
    ['Antom', /DEVICE_HEALTH_VENDORS: .*got "Antom"/],
    ['antom,verifone', /DEVICE_HEALTH_VENDORS: .*got "antom,verifone"/],
    ['antom,,adyen', /DEVICE_HEALTH_VENDORS: .*got "antom,,adyen"/],
    [',', /DEVICE_HEALTH_VENDORS: .*subset of antom,adyen/],
    ['antom adyen', /DEVICE_HEALTH_VENDORS: .*got "antom adyen"/],
    ['antom,antom', /DEVICE_HEALTH_VENDORS: DEVICE_HEALTH_VENDORS names a vendor twice/],
  ])('refuses %j at boot, naming the field', (value, message) => {
    let error: unknown;
    try {
      load({ DEVICE_HEALTH_VENDORS: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/^invalid configuration: /);
    expect((error as Error).message).toMatch(message);
  });

  it('reports a bad vendor list together with the other bad settings', () => {
    expect(() => load({ DEVICE_HEALTH_VENDORS: 'nope', POLL_CONCURRENCY: '0' })).toThrow(
      /DEVICE_HEALTH_VENDORS: .*POLL_CONCURRENCY|POLL_CONCURRENCY: .*DEVICE_HEALTH_VENDORS/,
    );
  });
});

describe('cross-field rules', () => {
  it('refuses a diagnosis timeout above half the interval', () => {
    expect(() => load({ POLL_INTERVAL_MS: '4000', DIAGNOSIS_TIMEOUT_MS: '2500' })).toThrow(
      /DIAGNOSIS_TIMEOUT_MS must be at most half of POLL_INTERVAL_MS/,
    );
  });

  it('asks LIVE for a cloud region', () => {
    expect(() => load({ ADYEN_ENVIRONMENT: 'LIVE' })).toThrow(/ADYEN_REGION/);
    expect(load({ ADYEN_ENVIRONMENT: 'LIVE', ADYEN_REGION: 'EU' }).ADYEN_REGION).toBe('EU');
  });
});
