import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SUBJECTS } from '@tillbus/contracts';
import { freePort, promtoolCheckMetrics, waitFor } from '@tillbus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDemoConfig, type DemoConfig } from '../stack/config';
import { ensureKeys } from '../stack/keys';
import { buildPlan, demoKeySpecs } from '../stack/plan';
import { startPhases } from '../stack/stack';
import { Supervisor, type StopReport } from '../stack/supervisor';
import { allExpressions } from './expressions';
import { installedPackages, requireBuilt } from './images';
import { DEPLOY, ROOT, SERVICES, type Service } from './manifests';
import { startConfiguredNats, type ConfiguredNats } from './nats';
import { buildContext, DockerfileReplayer, imageCommand, type ReplayedImage } from './replay';
import { exposedNames, metricNames, sampleLabels, selectorLabels } from './promql';

/**
 * The deployment as it will run: every service's image built by replaying its Dockerfile from the tracked files
 * (tools/deploy/replay.ts: no Docker engine here), run as the image's non-root user from its read-only root, each
 * connected with its own NATS user to a nats-server running deploy/nats/auth.conf, next to the simulators of the
 * demo stack (tools/stack). Then: health and readiness, no permission refusals, and every metric the alerts and
 * dashboards use is really exported.
 */
let work: string;
let nats: ConfiguredNats;
let supervisor: Supervisor;
const images = new Map<Service, ReplayedImage>();
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
  requireBuilt(['simulators', 'cli']);
  work = mkdtempSync(join(tmpdir(), 'tillbus-deploy-stack-'));
  const context = join(work, 'context');
  buildContext(ROOT, context);
  const replayer = new DockerfileReplayer(join(work, 'images'), context);
  for (const service of SERVICES) {
    images.set(service, replayer.replay(join(DEPLOY, 'docker', service, 'Dockerfile')));
  }
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
        // The CA that signed the server's certificate, mounted as the manifests mount tillbus-nats-ca.
        NATS_TLS_CA_FILE: nats.certificates.caFile,
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
    const image = images.get(process_.name as Service);
    if (image) {
      // The image's ENTRYPOINT as its USER, with only the planned environment; the keys and registries the stack
      // generates are mounted read-only where the environment names them, as a Secret or ConfigMap would be.
      Object.assign(
        process_,
        imageCommand(image, process_.env ?? {}, [stateDir, nats.certificates.dir]),
      );
      process_.cwd = work;
    }
  }
  expect(plan.processes.filter((p) => p.command === 'unshare')).toHaveLength(4);

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
}, 900_000);

afterAll(async () => {
  if (supervisor && !stopped) await supervisor.stopAll(10_000);
  await nats?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
}, 300_000);

describe('the deployment, run locally', () => {
  it('replays every instruction of each Dockerfile, sharing the install layers as the layer cache of Docker would', () => {
    for (const image of images.values()) {
      expect(image.steps.map((step) => step.stage)).toEqual(
        expect.arrayContaining(['build', 'deps', 'runtime']),
      );
      expect(image.user).toBe('10001:10001');
    }
    const installs = [...images.values()].flatMap((image) =>
      image.steps.filter((step) => step.instruction === 'RUN npm ci --no-audit --no-fund'),
    );
    expect(installs.map((step) => step.cached)).toEqual([false, true, true, true]);
  });

  it('builds with npm ci from the committed lockfile and ships no package manager', () => {
    for (const image of images.values()) {
      for (const tool of ['npm', 'npx', 'corepack', 'yarn']) {
        expect(existsSync(join(image.usrLocal, 'bin', tool)), tool).toBe(false);
      }
      expect(existsSync(join(image.root, 'app/dist/main.js'))).toBe(true);
      expect(existsSync(join(image.root, 'app/src'))).toBe(false);
    }
  });

  it('runs every service from its image, as its non-root user, answering /healthz and /readyz', async () => {
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
    const someImage = join(images.get(SERVICES[0])!.root, 'app');
    const installed = installedPackages(someImage).filter((n) => !n.startsWith('@tillbus/'));
    expect(installed.length).toBeGreaterThan(50);
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    // Dev-only as npm sees it: a dev dependency no production package needs too.
    const devOnly = Object.keys(pkg.devDependencies).filter(
      (name) => lock.packages[`node_modules/${name}`]?.dev === true,
    );
    for (const name of devOnly) expect(installed, `the image ships ${name}`).not.toContain(name);
    const shipped = JSON.parse(readFileSync(join(someImage, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(Object.keys(shipped.dependencies).sort()).toEqual(Object.keys(pkg.dependencies).sort());
    for (const name of Object.keys(pkg.dependencies)) expect(installed).toContain(name);
    for (const [service, image] of images) {
      const libs = installedPackages(join(image.root, 'app')).filter((n) =>
        n.startsWith('@tillbus/'),
      );
      expect(libs, service).toContain('@tillbus/messaging');
      expect(libs, service).not.toContain('@tillbus/testing');
      expect(libs, service).not.toContain(`@tillbus/${SERVICES.find((s) => s !== service)}`);
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
