import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { HealthVendor } from '@tillbus/result-codes';
import { countFleet, DeviceHealthMetrics } from './metrics';

const fleet = countFleet([
  { vendor: 'antom', status: 'READY', reasons: [], ageSeconds: 4 },
  { vendor: 'antom', status: 'DOWN', reasons: ['NETWORK_DOWN'], ageSeconds: 9 },
  { vendor: 'adyen', status: 'DEGRADED', reasons: ['BUSY'], ageSeconds: 70 },
]);

async function exposition(vendors: HealthVendor[]): Promise<string> {
  const registry = new Registry();
  const metrics = new DeviceHealthMetrics(registry, { DEVICE_HEALTH_VENDORS: vendors } as never);
  metrics.setFleetSource(() => fleet);
  return registry.metrics();
}

describe('device-health metrics per deployment', () => {
  it('counts the fleet per vendor, the polling lag included', () => {
    expect(fleet.oldestDiagnosisAgeSeconds).toEqual(
      new Map([
        ['antom', 9],
        ['adyen', 70],
      ]),
    );
  });

  it('reports both vendors by default', async () => {
    const text = await exposition(['antom', 'adyen']);
    expect(text).toContain('tillbus_device_health_terminals{vendor="antom",status="READY"} 1');
    expect(text).toContain('tillbus_device_health_terminals{vendor="adyen",status="DEGRADED"} 1');
    expect(text).toContain('tillbus_device_health_polling_lag_seconds{vendor="antom"} 9');
    expect(text).toContain('tillbus_device_health_polling_lag_seconds{vendor="adyen"} 70');
  });

  it.each<[HealthVendor, HealthVendor]>([
    ['antom', 'adyen'],
    ['adyen', 'antom'],
  ])('a %s-only deployment exposes no %s series at all', async (own, other) => {
    const text = await exposition([own]);
    expect(text).toContain(`tillbus_device_health_terminals{vendor="${own}",status="READY"}`);
    expect(text).toContain(`tillbus_device_health_diagnoses_total{vendor="${own}"`);
    expect(text).toContain(`tillbus_device_health_polling_lag_seconds{vendor="${own}"}`);
    expect(text).not.toContain(`vendor="${other}"`);
  });
});
