import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse, stringify } from 'yaml';
import type { DemoConfig, ServiceName } from './config';
import type { KeyFiles, KeySpec } from './keys';
import type { PlannedProcess, PortUse, StackPlan } from './stack';

/** `built`: node on apps/<app>/dist; `source`: the TypeScript sources through SWC (no build needed). */
export type PlanMode = 'built' | 'source';

export interface PlanContext {
  root: string;
  /** `.tillbus/`: keys, generated files. */
  stateDir: string;
  config: DemoConfig;
  natsUrl: string;
  /** The CA of a TLS server the stack started: services get NATS_TLS_CA_FILE, every process trusts it. */
  natsCaFile?: string;
  mode: PlanMode;
  keys: Record<string, KeyFiles>;
  /** Extra environment per process name, after everything else (tests: accelerated clocks, short intervals). */
  extraEnv?: Partial<Record<string, Record<string, string>>>;
  /** The host the services and simulators listen on and are reached at. */
  host?: string;
}

/**
 * Key material the stack makes itself. The Antom, Adyen and D-Store simulators generate theirs (both sides' pairs)
 * into .tillbus/keys/<simulator> on first start, and the services are pointed at those files.
 */
export function demoKeySpecs(): KeySpec[] {
  return [
    // intella's key pair: the simulator decrypts with the private half, easycard-session encrypts to the public.
    { name: 'intella', kind: 'rsa' },
    { name: 'intella-trade-password', kind: 'password', length: 20 },
    { name: 'intella-iv', kind: 'password', length: 16 },
    // Encrypts each reader's NewAESKey at rest in KV (AES-256-GCM).
    { name: 'easycard-key-encryption', kind: 'bytes', bytes: 32, encoding: 'base64' },
  ];
}

export function plannedPorts(config: DemoConfig): PortUse[] {
  const p = config.ports;
  return [
    { port: p.deviceHealth.ops, owner: 'device-health', what: 'ops (/metrics /healthz /readyz)' },
    { port: p.orderReconciliation.ops, owner: 'order-reconciliation', what: 'ops' },
    { port: p.orderReconciliation.http, owner: 'order-reconciliation', what: 'D-Store edge' },
    { port: p.edcCommand.ops, owner: 'edc-command', what: 'ops' },
    { port: p.easycardSession.ops, owner: 'easycard-session', what: 'ops' },
    { port: p.antomFleet, owner: 'antom-fleet', what: 'simulated terminals' },
    { port: p.adyenFleet, owner: 'adyen-fleet', what: 'simulated terminals' },
    { port: p.dstore, owner: 'dstore', what: 'simulated D-Store cloud' },
    { port: p.intella, owner: 'intella', what: 'simulated intella Scan2Pay' },
  ];
}

/** Where a simulator keeps the keys it generates itself. */
export const simKeysDir = (ctx: Pick<PlanContext, 'stateDir'>, sim: string) =>
  join(ctx.stateDir, 'keys', sim);
export const generatedDir = (ctx: Pick<PlanContext, 'stateDir'>) => join(ctx.stateDir, 'generated');

/** Every process of the demo stack, in start order (simulators that write what services read go first). */
export function buildPlan(ctx: PlanContext): StackPlan {
  const { config } = ctx;
  const host = ctx.host ?? '127.0.0.1';
  const gen = generatedDir(ctx);
  mkdirSync(gen, { recursive: true });
  const ref = (name: string, which: 'file' | 'publicFile' = 'file') => {
    const file = ctx.keys[name]?.[which];
    if (!file) throw new Error(`demo key ${name} (${which}) is missing`);
    return `file:${file}`;
  };
  const fileOf = (name: string) => ref(name).slice('file:'.length);

  // ---- phase 0: HTTP simulators (they write registries and public keys the services read at boot)
  const antomFaults = join(gen, 'antom-faults.json');
  writeFileSync(antomFaults, JSON.stringify(config.antom.faults, null, 2));
  const adyenFaults = join(gen, 'adyen-faults.json');
  writeFileSync(adyenFaults, JSON.stringify(config.adyen.faults, null, 2));
  const intellaConfig = join(gen, 'intella.yaml');
  writeFileSync(
    intellaConfig,
    stringify({
      port: config.ports.intella,
      host,
      merchants: [
        {
          mchId: config.easycard.merchant,
          tradePasswordEnv: 'INTELLA_TRADE_PASSWORD',
          iv: readFileSync(fileOf('intella-iv'), 'utf8').trim(),
          readerCount: config.easycard.readers,
        },
      ],
    }),
  );
  // One timeline for intella and easycard-session when the demo (or a test) runs their clock fast.
  const clock = clockSettings(config);
  const registries = {
    antom: join(gen, 'antom-registry.yaml'),
    adyen: join(gen, 'adyen-registry.yaml'),
    merged: join(gen, 'terminals.yaml'),
  };
  // Written afresh by the simulators at every start: readiness waits for them.
  for (const file of Object.values(registries)) rmSync(file, { force: true });

  const processes: PlannedProcess[] = [
    simulator(
      ctx,
      'antom-fleet',
      [
        '--terminals',
        String(config.antom.terminals),
        '--stores',
        String(config.antom.stores),
        '--host',
        host,
        '--port',
        String(config.ports.antomFleet),
        '--keys-dir',
        simKeysDir(ctx, 'antom-fleet'),
        '--faults',
        antomFaults,
        '--registry',
        registries.antom,
      ],
      { phase: 0, ready: { port: config.ports.antomFleet, file: registries.antom } },
    ),
    simulator(
      ctx,
      'adyen-fleet',
      [
        '--terminals',
        String(config.adyen.terminals),
        '--mobile',
        String(config.adyen.mobile),
        '--stores',
        String(config.adyen.stores),
        '--host',
        host,
        '--port',
        String(config.ports.adyenFleet),
        '--keys-dir',
        simKeysDir(ctx, 'adyen-fleet'),
        '--faults',
        adyenFaults,
        '--registry',
        registries.adyen,
      ],
      { phase: 0, ready: { port: config.ports.adyenFleet, file: registries.adyen } },
    ),
    simulator(
      ctx,
      'dstore',
      [
        '--host',
        host,
        '--port',
        String(config.ports.dstore),
        '--pos-url',
        `http://${host}:${config.ports.orderReconciliation.http}`,
        '--client-id',
        config.dstore.clientId,
        '--pos-client-id',
        config.dstore.posClientId,
        '--keys-dir',
        simKeysDir(ctx, 'dstore'),
      ],
      {
        phase: 0,
        ready: {
          port: config.ports.dstore,
          file: join(simKeysDir(ctx, 'dstore'), 'pos-public.pem'),
        },
      },
    ),
    simulator(
      ctx,
      'intella',
      ['--config', intellaConfig, '--private-key-file', fileOf('intella'), ...clock.args],
      {
        phase: 0,
        ready: { port: config.ports.intella },
        env: {
          INTELLA_TRADE_PASSWORD: readFileSync(fileOf('intella-trade-password'), 'utf8').trim(),
        },
      },
    ),
  ];

  // ---- phase 1: the four services
  const opsUrl = (port: number) => `http://${host}:${port}`;
  const common = (name: ServiceName, opsPort: number): Record<string, string> => ({
    NATS_URL: ctx.natsUrl,
    ...(ctx.natsCaFile ? { NATS_TLS_CA_FILE: ctx.natsCaFile } : {}),
    // The demo server has no tillbus permissions: each service declares its own part of the declarations.
    NATS_PROVISIONING: 'apply',
    OPS_HOST: '127.0.0.1',
    OPS_PORT: String(opsPort),
    LOG_LEVEL: 'info',
    // A short grace keeps Ctrl-C quick; in-flight work still finishes or is handed over through JetStream.
    SHUTDOWN_GRACE_MS: '10000',
  });
  processes.push(
    service(
      ctx,
      'device-health',
      {
        ...common('device-health', config.ports.deviceHealth.ops),
        TERMINALS_FILE: registries.merged,
        // The simulators' URLs and keys are written afresh at every start: the file wins over KV.
        TERMINALS_FILE_MODE: 'overwrite',
        ADYEN_TERMINAL_CA_FILE: join(simKeysDir(ctx, 'adyen-fleet'), 'cert.pem'),
      },
      opsUrl(config.ports.deviceHealth.ops),
    ),
    service(
      ctx,
      'order-reconciliation',
      {
        ...common('order-reconciliation', config.ports.orderReconciliation.ops),
        HTTP_PORT: String(config.ports.orderReconciliation.http),
        HTTP_HOST: host,
        DSTORE_CLIENT_IDS: config.dstore.clientId,
        DSTORE_PUBLIC_KEY_REF: `file:${join(simKeysDir(ctx, 'dstore'), 'dstore-public.pem')}`,
        POS_PRIVATE_KEY_REF: `file:${join(simKeysDir(ctx, 'dstore'), 'pos-private.pem')}`,
        POS_CLIENT_ID: config.dstore.posClientId,
        DSTORE_BASE_URL: `http://${host}:${config.ports.dstore}`,
      },
      opsUrl(config.ports.orderReconciliation.ops),
    ),
    service(
      ctx,
      'edc-command',
      {
        ...common('edc-command', config.ports.edcCommand.ops),
      },
      opsUrl(config.ports.edcCommand.ops),
    ),
    service(
      ctx,
      'easycard-session',
      {
        ...common('easycard-session', config.ports.easycardSession.ops),
        INTELLA_MERCHANTS: JSON.stringify([
          {
            mchId: config.easycard.merchant,
            url: `http://${host}:${config.ports.intella}/allpaypass/api/general`,
            tradePassword: ref('intella-trade-password'),
            publicKey: ref('intella', 'publicFile'),
            iv: ref('intella-iv'),
          },
        ]),
        EASYCARD_KEY_ENCRYPTION_KEY: ref('easycard-key-encryption'),
        ...clock.env,
      },
      opsUrl(config.ports.easycardSession.ops),
    ),
  );

  // ---- phase 2: simulators that call the services
  processes.push(
    simulator(
      ctx,
      'kicc-bridge',
      [
        '--nats',
        ctx.natsUrl,
        '--bridges',
        String(config.edc.bridges),
        '--devices',
        String(config.edc.devicesPerBridge),
        '--timing',
        config.edc.timing,
      ],
      { phase: 2, ready: { output: /kicc-bridge simulator ready/ } },
    ),
  );

  // The demo file's service settings win over the wiring above, and a test's over both.
  for (const p of processes) {
    Object.assign(
      p.env,
      config.services[p.name as ServiceName] ?? {},
      ctx.extraEnv?.[p.name] ?? {},
    );
  }

  return {
    processes,
    ports: plannedPorts(config),
    beforePhase: (phase) => {
      if (phase === 1) mergeRegistries([registries.antom, registries.adyen], registries.merged);
    },
    banner: banner(ctx),
  };
}

function clockSettings(config: DemoConfig): { args: string[]; env: Record<string, string> } {
  const clock = config.easycard.clock;
  if (!clock) return { args: [], env: {} };
  const args: string[] = [];
  const env: Record<string, string> = {};
  if (clock.rate !== 1) {
    const epoch = String(Date.now());
    args.push('--clock-rate', String(clock.rate), '--clock-epoch-ms', epoch);
    Object.assign(env, { EASYCARD_CLOCK_RATE: String(clock.rate), EASYCARD_CLOCK_EPOCH_MS: epoch });
  }
  if (clock.offsetFile) {
    args.push('--clock-offset-file', clock.offsetFile);
    env.EASYCARD_CLOCK_OFFSET_FILE = clock.offsetFile;
  }
  return { args, env };
}

/** device-health reads one registry file; each fleet simulator writes its own. */
export function mergeRegistries(files: string[], into: string): void {
  const terminals = files.flatMap((file) => {
    const doc = parse(readFileSync(file, 'utf8')) as { terminals?: unknown[] } | null;
    return doc?.terminals ?? [];
  });
  writeFileSync(into, stringify({ terminals }));
}

function node(
  ctx: PlanContext,
  app: string,
  args: string[],
): { command: string; args: string[]; env: Record<string, string> } {
  if (ctx.mode === 'built') {
    return {
      command: process.execPath,
      args: [join(ctx.root, 'apps', app, 'dist', 'main.js'), ...args],
      env: {},
    };
  }
  return {
    command: process.execPath,
    args: [
      '--conditions=tillbus-source',
      '-r',
      require.resolve('@swc-node/register'),
      join(ctx.root, 'apps', app, 'src', 'main.ts'),
      ...args,
    ],
    env: { TS_NODE_PROJECT: join(ctx.root, 'tsconfig.json') },
  };
}

function simulator(
  ctx: PlanContext,
  name: string,
  args: string[],
  extra: { phase: number; ready?: PlannedProcess['ready']; env?: Record<string, string> },
): PlannedProcess {
  const run = node(ctx, 'simulators', [name, ...args]);
  return {
    name,
    role: 'simulator',
    command: run.command,
    args: run.args,
    env: {
      ...run.env,
      NATS_URL: ctx.natsUrl,
      // The simulators connect with nats.js defaults: Node's trust store plus this CA verifies the server.
      ...(ctx.natsCaFile ? { NODE_EXTRA_CA_CERTS: ctx.natsCaFile } : {}),
      ...(extra.env ?? {}),
    },
    cwd: ctx.root,
    phase: extra.phase,
    ready: extra.ready,
  };
}

function service(
  ctx: PlanContext,
  name: ServiceName,
  env: Record<string, string>,
  ops: string,
): PlannedProcess {
  const run = node(ctx, name, []);
  return {
    name,
    role: 'service',
    command: run.command,
    args: run.args,
    env: { ...run.env, ...env },
    cwd: ctx.root,
    phase: 1,
    ready: { url: `${ops}/readyz` },
  };
}

/** A path as a person would type it from the checkout. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}

function banner(ctx: PlanContext): string {
  const { config } = ctx;
  const host = ctx.host ?? '127.0.0.1';
  const p = config.ports;
  const rows: [string, string, string, string][] = [
    [
      'device-health',
      `http://${host}:${p.deviceHealth.ops}`,
      '-',
      `${config.antom.terminals} Antom + ${config.adyen.terminals + config.adyen.mobile} Adyen terminals`,
    ],
    [
      'order-reconciliation',
      `http://${host}:${p.orderReconciliation.ops}`,
      `http://${host}:${p.orderReconciliation.http}/v2/pos/*`,
      'D-Store edge and outbox',
    ],
    [
      'edc-command',
      `http://${host}:${p.edcCommand.ops}`,
      '-',
      `${config.edc.bridges * config.edc.devicesPerBridge} KICC EDC devices`,
    ],
    [
      'easycard-session',
      `http://${host}:${p.easycardSession.ops}`,
      '-',
      `${config.easycard.readers} EasyCard readers`,
    ],
  ];
  const sims: [string, string][] = [
    ['antom-fleet', `http://${host}:${p.antomFleet}  (faults: /_sim/terminals/<serial>/faults)`],
    [
      'adyen-fleet',
      `https://${host}:${p.adyenFleet}/nexo  (faults: /_sim/terminals/<POIID>/faults)`,
    ],
    ['intella', `http://${host}:${p.intella}/allpaypass/api/general  (control: /_control/state)`],
    ['kicc-bridge', `over NATS  (control: tillbus.sim.kicc-bridge.control)`],
  ];
  const w = [20, 24, 44];
  const line = (c: string[]) =>
    c
      .map((v, i) => (i < 3 ? v.padEnd(w[i]) : v))
      .join('  ')
      .trimEnd();
  return [
    '',
    'tillbus is running. Ctrl-C stops everything.',
    '',
    line(['SERVICE', 'OPS (/metrics /healthz)', 'HTTP', 'LOOKS AFTER']),
    ...rows.map((r) => line(r)),
    '',
    'SIMULATOR             WHERE',
    ...sims.map(([n, where]) => `${n.padEnd(20)}  ${where}`),
    '',
    `NATS: ${ctx.natsUrl}    logs: ${shown(join(ctx.stateDir, 'logs'))}/<name>.log    keys: ${shown(join(ctx.stateDir, 'keys'))}/`,
    '',
    'Try (in another terminal):',
    '  npx tillbus terminals list --status DEGRADED',
    `  npx tillbus edc purchase sim-b0-d0 15000`,
    '  npx tillbus easycard sessions',
    '',
  ].join('\n');
}
