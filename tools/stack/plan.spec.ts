import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDemoConfig } from './config';
import { ensureKeys } from './keys';
import { buildPlan, demoKeySpecs, mergeRegistries } from './plan';

const dir = mkdtempSync(join(tmpdir(), 'tillbus-plan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const config = loadDemoConfig(join(__dirname, '../../demo/tillbus.demo.yaml'));
const keys = ensureKeys(join(dir, 'keys'), demoKeySpecs()).files;
const plan = (over: Partial<Parameters<typeof buildPlan>[0]> = {}) =>
  buildPlan({
    root: '/repo',
    stateDir: dir,
    config,
    natsUrl: 'nats://127.0.0.1:4222',
    mode: 'built',
    keys,
    ...over,
  });
const env = (p: ReturnType<typeof plan>, name: string) =>
  p.processes.find((x) => x.name === name)!.env;

describe('the demo plan', () => {
  it('runs the four services and five simulators, HTTP simulators first and the bus ones last', () => {
    const p = plan();
    expect(p.processes.map((x) => [x.name, x.phase])).toEqual([
      ['antom-fleet', 0],
      ['adyen-fleet', 0],
      ['dstore', 0],
      ['intella', 0],
      ['device-health', 1],
      ['order-reconciliation', 1],
      ['edc-command', 1],
      ['easycard-session', 1],
      ['kicc-bridge', 2],
    ]);
    expect(p.processes.filter((x) => x.role === 'service').every((x) => 'url' in x.ready!)).toBe(
      true,
    );
  });

  it('wires each service to NATS, its ops port and the simulators, with secrets as file references', () => {
    const p = plan();
    expect(env(p, 'device-health')).toMatchObject({
      NATS_URL: 'nats://127.0.0.1:4222',
      OPS_PORT: String(config.ports.deviceHealth.ops),
      TERMINALS_FILE: join(dir, 'generated/terminals.yaml'),
      TERMINALS_FILE_MODE: 'overwrite',
      ADYEN_TERMINAL_CA_FILE: join(dir, 'keys/adyen-fleet/cert.pem'),
    });
    expect(env(p, 'order-reconciliation')).toMatchObject({
      HTTP_PORT: String(config.ports.orderReconciliation.http),
      DSTORE_CLIENT_IDS: 'DSTORE-SIM',
      POS_CLIENT_ID: 'TILLBUS-DEMO',
      DSTORE_BASE_URL: `http://127.0.0.1:${config.ports.dstore}`,
      DSTORE_PUBLIC_KEY_REF: `file:${join(dir, 'keys/dstore/dstore-public.pem')}`,
      POS_PRIVATE_KEY_REF: `file:${join(dir, 'keys/dstore/pos-private.pem')}`,
    });
    const merchants = JSON.parse(env(p, 'easycard-session').INTELLA_MERCHANTS) as Record<
      string,
      string
    >[];
    expect(merchants).toEqual([
      {
        mchId: 'SIMMCH001',
        url: `http://127.0.0.1:${config.ports.intella}/allpaypass/api/general`,
        tradePassword: `file:${keys['intella-trade-password'].file}`,
        publicKey: `file:${keys.intella.publicFile}`,
        iv: `file:${keys['intella-iv'].file}`,
      },
    ]);
    expect(env(p, 'easycard-session').EASYCARD_KEY_ENCRYPTION_KEY).toBe(
      `file:${keys['easycard-key-encryption'].file}`,
    );
    // No secret value in any environment: only references, and the intella trade password for its simulator.
    const password = readFileSync(keys['intella-trade-password'].file, 'utf8').trim();
    for (const x of p.processes.filter((x) => x.name !== 'intella')) {
      expect(JSON.stringify(x.env)).not.toContain(password);
      expect(JSON.stringify(x.args)).not.toContain(password);
    }
    const intellaConfig = parse(readFileSync(join(dir, 'generated/intella.yaml'), 'utf8')) as {
      merchants: { mchId: string; tradePasswordEnv: string; readerCount: number }[];
    };
    expect(intellaConfig.merchants[0]).toMatchObject({
      mchId: 'SIMMCH001',
      tradePasswordEnv: 'INTELLA_TRADE_PASSWORD',
      readerCount: 10,
    });
  });

  it('runs built output, or the sources through SWC', () => {
    expect(plan().processes.find((x) => x.name === 'edc-command')!.args).toEqual([
      '/repo/apps/edc-command/dist/main.js',
    ]);
    const source = plan({ mode: 'source' }).processes.find((x) => x.name === 'antom-fleet')!;
    expect(source.args.slice(0, 2)).toEqual(['--conditions=tillbus-source', '-r']);
    expect(source.args).toContain('/repo/apps/simulators/src/main.ts');
    expect(source.args[source.args.indexOf('/repo/apps/simulators/src/main.ts') + 1]).toBe(
      'antom-fleet',
    );
    expect(source.env.TS_NODE_PROJECT).toBe('/repo/tsconfig.json');
  });

  it("lets the demo file's service settings, then a test's, win over the wiring", () => {
    const custom = {
      ...config,
      services: {
        ...config.services,
        'device-health': { TERMINALS_FILE_MODE: 'create', POLL_INTERVAL_MS: '5000' },
      },
    };
    const p = plan({ config: custom, extraEnv: { 'device-health': { POLL_INTERVAL_MS: '2000' } } });
    expect(env(p, 'device-health')).toMatchObject({
      TERMINALS_FILE_MODE: 'create',
      POLL_INTERVAL_MS: '2000',
    });
  });

  it('gives intella and easycard-session one accelerated timeline', () => {
    const offsetFile = join(dir, 'offset');
    const p = plan({
      config: { ...config, easycard: { ...config.easycard, clock: { rate: 60, offsetFile } } },
    });
    const intella = p.processes.find((x) => x.name === 'intella')!.args;
    const e = env(p, 'easycard-session');
    expect(e).toMatchObject({ EASYCARD_CLOCK_RATE: '60', EASYCARD_CLOCK_OFFSET_FILE: offsetFile });
    expect(intella.slice(intella.indexOf('--clock-rate'))).toEqual([
      '--clock-rate',
      '60',
      '--clock-epoch-ms',
      e.EASYCARD_CLOCK_EPOCH_MS,
      '--clock-offset-file',
      offsetFile,
    ]);
  });

  it('prints every service port and three commands to try', () => {
    const banner = plan().banner;
    const p = config.ports;
    for (const port of [
      p.deviceHealth.ops,
      p.orderReconciliation.ops,
      p.orderReconciliation.http,
      p.edcCommand.ops,
      p.easycardSession.ops,
    ]) {
      expect(banner).toContain(`http://127.0.0.1:${port}`);
    }
    expect(banner.match(/^ {2}npx tillbus /gm)).toHaveLength(3);
  });

  it('merges the fleets\u2019 registries into the one device-health reads', () => {
    const a = join(dir, 'a.yaml');
    const b = join(dir, 'b.yaml');
    writeFileSync(a, 'terminals:\n  - { terminalId: antom-1 }\n');
    writeFileSync(b, 'terminals:\n  - { terminalId: adyen-1 }\n  - { terminalId: adyen-2 }\n');
    mergeRegistries([a, b], join(dir, 'all.yaml'));
    expect(parse(readFileSync(join(dir, 'all.yaml'), 'utf8'))).toEqual({
      terminals: [{ terminalId: 'antom-1' }, { terminalId: 'adyen-1' }, { terminalId: 'adyen-2' }],
    });
  });
});
