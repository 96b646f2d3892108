import { join } from 'node:path';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadDemoConfig, parseDemoConfig } from './config';
import { StackError } from './nats';

const DEMO = join(__dirname, '../../demo/tillbus.demo.yaml');

describe('the demo configuration', () => {
  it('loads the committed demo file', () => {
    const config = loadDemoConfig(DEMO);
    expect(config.antom.terminals).toBe(20);
    expect(config.adyen.terminals + config.adyen.mobile).toBe(20);
    expect(config.edc.bridges * config.edc.devicesPerBridge).toBe(10);
    expect(config.easycard.readers).toBe(10);
    expect(Object.keys(config.antom.faults).length).toBeGreaterThan(0);
    expect(config.ports.orderReconciliation.http).toBe(18080);
  });

  it('names every problem by its field, all at once', () => {
    const raw = parse(readFileSync(DEMO, 'utf8')) as Record<string, Record<string, unknown>>;
    raw.antom.terminals = 0;
    raw.edc.timing = 'slow';
    (raw.ports as Record<string, unknown>).dstore = raw.ports['antom-fleet'];
    raw.services = { 'device-health': { poll: 1 }, billing: {} };
    raw.easycard.merchant = 'has space';
    let message = '';
    try {
      parseDemoConfig(raw, 'demo.yaml');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('demo.yaml has problems');
    expect(message).toContain('antom.terminals: must be a whole number from 1 to 10000');
    expect(message).toContain('edc.timing: must be one of realistic, fast, instant');
    expect(message).toContain('ports.dstore: port 18081 is also ports.antom-fleet');
    expect(message).toContain('services.device-health.poll: an environment variable name');
    expect(message).toContain('services.billing: unknown service');
    expect(message).toContain('easycard.merchant: must be 1-64 letters');
  });

  it('writes service settings as strings', () => {
    const raw = parse(readFileSync(DEMO, 'utf8')) as Record<string, unknown>;
    raw.services = { 'edc-command': { EDC_X: 5, EDC_Y: true } };
    expect(parseDemoConfig(raw).services['edc-command']).toEqual({ EDC_X: '5', EDC_Y: 'true' });
  });

  it('refuses a file that is not a mapping', () => {
    expect(() => parseDemoConfig('just text')).toThrow(/the file: must be a mapping/);
  });

  it('answers anything with a config or a StackError naming fields, never a crash', () => {
    const demo = parse(readFileSync(DEMO, 'utf8')) as Record<string, unknown>;
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.record({ ports: fc.jsonValue(), antom: fc.jsonValue(), services: fc.jsonValue() }),
          fc
            .tuple(fc.constantFrom(...Object.keys(demo)), fc.jsonValue())
            .map(([key, value]) => ({ ...demo, [key]: value })),
        ),
        (raw) => {
          try {
            parseDemoConfig(raw);
          } catch (error) {
            expect(error).toBeInstanceOf(StackError);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
