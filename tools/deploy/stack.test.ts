import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SUBJECTS } from '@tillbus/messaging';
import { freePort, promtoolCheckMetrics, waitFor } from '@tillbus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDemoConfig, type DemoConfig } from '../stack/config';
import { ensureKeys } from '../stack/keys';
import { buildPlan, demoKeySpecs } from '../stack/plan';
import { startPhases } from '../stack/stack';
import { Supervisor, type StopReport } from '../stack/supervisor';
import { allExpressions } from './expressions';
import { assembleImages, installedPackages, requireBuilt, type AssembledImages } from './images';
import { ROOT, SERVICES, type Service } from './manifests';
import { startConfiguredNats, type ConfiguredNats } from './nats';
import { exposedNames, metricNames, sampleLabels, selectorLabels } from './promql';

/**
 * The deployment as it will run: every service from its assembled image contents (what its Dockerfile ships), each
 * connected with its own NATS user to a nats-server running deploy/nats/auth.conf, next to the simulators of the
 * demo stack (tools/stack). Then: health and readiness, no permission refusals, and every metric the alerts and
 * dashboards use is really exported.
 */
let work: string;
let nats: ConfiguredNats;
let supervisor: Supervisor;
let assembled: AssembledImages;
let config: DemoConfig;
let stopped: StopReport | undefined;

const opsUrl = (service: Service) => {
  const p = config.ports;
  const port = {
    'device-health': p.deviceHealth.ops,
    'order-reconciliation': p.orderReconciliation.ops,
    'edc-command': p.edcCommand.ops,
    'easycard-session': p.easycardSession.ops,
  }[service];
  return `http://127.0.0.1:${port}`;
};

async function scrape(service: Service): Promise<string> {
  const response = await fetch(`${opsUrl(service)}/metrics`);
  expect(response.status).toBe(200);
  return response.text();
}

/** The value of an unlabelled sample, or the sum over a metric's labelled samples. */
function total(exposition: string, name: string): number {
  return exposition
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

beforeAll(async () => {
  requireBuilt([...SERVICES, 'simulators', 'cli']);
  work = mkdtempSync(join(tmpdir(), 'tillbus-deploy-stack-'));
  // Started first: the install runs while the server starts.
  const assembling = assembleImages(SERVICES, join(work, 'images'));
  assembling.catch(() => undefined);
  // The shipped configuration plus the simulators overlay (the KICC bridge simulator plays the bridges).
  nats = await startConfiguredNats({ simulators: true });
  // The provisioning Job: `tillbus provision` as the provisioner user, before any service starts.
  const provision = spawnSync(
    process.execPath,
    [join(ROOT, 'apps/cli/dist/main.js'), 'provision', '--nats', nats.url],
    {
      encoding: 'utf8',
      env: { ...process.env, NATS_USER: 'provisioner', NATS_PASSWORD: nats.passwords.provisioner },
    },
  );
  expect(provision.stdout + provision.stderr).toMatch(/provisioned \d+ declarations/);
  assembled = await assembling;

  config = loadDemoConfig(join(ROOT, 'demo/tillbus.demo.yaml'));
  const port = () => freePort();
  config.ports = {
    deviceHealth: { ops: await port() },
    orderReconciliation: { ops: await port(), http: await port() },
    edcCommand: { ops: await port() },
    easycardSession: { ops: await port() },
    antomFleet: await port(),
    adyenFleet: await port(),
    dstore: await port(),
    intella: await port(),
  };
  // A small fleet: enough for every service to do real work, light on two shared cores.
  config.antom = { ...config.antom, terminals: 3, stores: 1, faults: {} };
  config.adyen = { ...config.adyen, terminals: 2, mobile: 1, stores: 1, faults: {} };
  config.edc = { bridges: 1, devicesPerBridge: 2, timing: 'instant' };
  config.easycard = { ...config.easycard, readers: 2 };

  const stateDir = join(work, 'state');
  const keys = ensureKeys(join(stateDir, 'keys'), demoKeySpecs()).files;
  const extraEnv: Record<string, Record<string, string>> = Object.fromEntries(
    SERVICES.map((service) => [
      service,
      {
        NATS_USER: service,
        // As the manifests pass it, from the service's Secret.
        NATS_PASSWORD: nats.passwords[service],
        // As production runs: the services only verify what the provisioner created.
        NATS_PROVISIONING: 'verify',
        NODE_ENV: 'production',
        // Nothing from the test runner: the image's node resolves only what the image holds.
        NODE_OPTIONS: '',
      },
    ]),
  );
  // The KICC bridge simulator logs in as the `simulators` user, as a bridge logs in as its own.
  extraEnv['kicc-bridge'] = {
    NATS_USER: 'simulators',
    NATS_PASSWORD: nats.passwords.simulators,
  };
  const plan = buildPlan({
    root: ROOT,
    stateDir,
    config,
    natsUrl: nats.url,
    mode: 'built',
    keys,
    extraEnv,
  });
  for (const process_ of plan.processes) {
    const image = assembled.images.find((i) => i.service === process_.name);
    if (image) {
      // The image's ENTRYPOINT, from the image's WORKDIR.
      process_.command = process.execPath;
      process_.args = ['--enable-source-maps', 'dist/main.js'];
      process_.cwd = image.dir;
    }
  }
  expect(plan.processes.filter((p) => p.cwd?.startsWith(work))).toHaveLength(4);

  supervisor = new Supervisor({ logDir: join(work, 'logs'), stackId: randomUUID() });
  const started = await startPhases(plan, supervisor, {
    readyTimeoutMs: 120_000,
    stop: () => supervisor.list().some((c) => c.exitCode !== null),
  });
  if (!started.ok) {
    const report = supervisor
      .list()
      .map((c) => `--- ${c.name} (exit ${c.exitCode ?? 'running'}):\n${c.tail(20)}`)
      .join('\n');
    throw new Error(
      `the stack did not come up (${started.notUp?.map((p) => p.name).join(', ') ?? 'a process exited'}):\n${report}\n--- nats:\n${nats.log().slice(-3000)}`,
    );
  }
}, 300_000);

afterAll(async () => {
  if (supervisor && !stopped) await supervisor.stopAll(10_000);
  await nats?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
}, 60_000);

describe('the deployment, run locally', () => {
  it('runs every service from its image contents, answering /healthz and /readyz', async () => {
    for (const service of SERVICES) {
      expect((await fetch(`${opsUrl(service)}/healthz`)).status, service).toBe(200);
      expect((await fetch(`${opsUrl(service)}/readyz`)).status, service).toBe(200);
    }
  });

  it('ships only production dependencies, installed by npm ci from the pruned lockfile, and the libs each service loads', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const installed = installedPackages(assembled.runtimeDir);
    expect(installed.length).toBeGreaterThan(50);
    const devOnly = Object.keys(pkg.devDependencies).filter((name) => !pkg.dependencies[name]);
    for (const name of devOnly) expect(installed, `the image ships ${name}`).not.toContain(name);
    expect(Object.keys(assembled.dependencies).sort()).toEqual(
      Object.keys(pkg.dependencies).sort(),
    );
    for (const name of Object.keys(pkg.dependencies)) expect(installed).toContain(name);
    expect(installed.filter((n) => n.startsWith('@tillbus/'))).toEqual([]);
    for (const image of assembled.images) {
      const libs = installedPackages(image.dir);
      expect(libs).toContain('@tillbus/messaging');
      expect(
        libs.every((n) => n.startsWith('@tillbus/')),
        image.service,
      ).toBe(true);
      expect(libs).not.toContain('@tillbus/testing');
    }
  });

  it('works with each service’s own NATS user: real work done, nothing refused', async () => {
    const progress: Record<string, number> = {};
    await waitFor(
      async () => {
        progress.diagnoses = total(
          await scrape('device-health'),
          'tillbus_device_health_diagnoses_total',
        );
        progress.bridges = total(
          await scrape('edc-command'),
          'tillbus_edc_command_bridges_connected',
        );
        progress.signOns = total(
          await scrape('easycard-session'),
          'tillbus_easycard_session_signons_total',
        );
        return Object.values(progress).every((v) => v > 0);
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'diagnoses, a bridge heartbeat and a sign-on' },
    ).catch((error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify(progress)}`);
    });
    // The operator and the POS reach the services through their accounts' imports.
    const operator = await nats.connectAs('operator');
    const terminals = await operator.request(SUBJECTS.deviceHealth.terminalsList, '{}', {
      timeout: 5000,
    });
    expect(terminals.headers?.get('Tillbus-Error') ?? '').toBe('');
    const pos = await nats.connectAs('pos');
    const missing = await pos.request(SUBJECTS.edc.get, JSON.stringify({ requestId: 'nope' }), {
      timeout: 5000,
    });
    expect(missing.headers?.get('Tillbus-Error')).toBeTruthy();
    expect(nats.log()).not.toMatch(/Violation/);
  });

  it('exports every metric the alerts and dashboards use, with the labels they select on', async () => {
    const exported = new Set<string>(['up']); // Prometheus's own per-target scrape health
    const labels = new Map<string, Set<string>>();
    for (const service of SERVICES) {
      const exposition = await scrape(service);
      for (const name of exposedNames(exposition)) exported.add(name);
      for (const [name, set] of sampleLabels(exposition)) labels.set(name, set);
    }
    const expressions = allExpressions();
    const missing = expressions.flatMap(({ source, expr }) =>
      metricNames(expr)
        .filter((name) => !exported.has(name))
        .map((name) => `${source}: ${name}`),
    );
    expect(missing).toEqual([]);
    // Labels can only be checked on metrics that have samples now; job and instance come from the scrape.
    const selected = expressions.flatMap(({ source, expr }) =>
      selectorLabels(expr)
        .filter(({ metric, label }) => labels.has(metric) && !['job', 'instance'].includes(label))
        .map((pair) => ({ source, ...pair })),
    );
    expect(selected.length).toBeGreaterThan(10);
    const wrong = selected
      .filter(({ metric, label }) => !labels.get(metric)!.has(label))
      .map(({ source, metric, label }) => `${source}: ${metric}{${label}}`);
    expect(wrong).toEqual([]);
  });

  it('serves metrics promtool accepts', async () => {
    for (const service of SERVICES) {
      const check = promtoolCheckMetrics(await scrape(service));
      expect(check.output, service).toBe('');
    }
  });

  it('drains and exits 0 on SIGTERM', async () => {
    stopped = await supervisor.stopAll(30_000);
    for (const service of SERVICES) {
      expect(stopped.children.find((c) => c.name === service)).toMatchObject({
        code: 0,
        killed: false,
      });
    }
  }, 60_000);
});
