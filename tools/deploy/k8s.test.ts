import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { BaseServiceConfig, loadConfig } from '@tillbus/config';
import { getMetadataStorage } from 'class-validator';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DEPLOY,
  filesUnder,
  parseYamlDocuments,
  renderKustomization,
  ROOT,
  schemaProblem,
  SERVICES,
  type K8sObject,
  type Service,
} from './manifests';

const OVERLAYS = ['dev', 'production', 'per-vendor'] as const;
type Overlay = (typeof OVERLAYS)[number];

/** The slowest in-flight command an edc-command replica must finish on SIGTERM: a Purchase with signature. */
const LONGEST_EDC_COMMAND_S = 115;
/** runMain exits hard this long after SHUTDOWN_GRACE_MS (libs/runtime bootstrap.ts). */
const RUN_MAIN_MARGIN_S = 10;

interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: {
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: { name: string; key: string } };
  }[];
  envFrom?: { configMapRef?: { name: string } }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown> & { capabilities?: { drop?: string[] } };
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { sleep?: { seconds: number } } };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  terminationGracePeriodSeconds?: number;
  securityContext?: Record<string, unknown>;
  containers: Container[];
  volumes?: { name: string; secret?: { secretName: string }; emptyDir?: object }[];
}
interface Deployment extends K8sObject {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
}
interface Peer {
  namespaceSelector?: { matchLabels?: Record<string, string> };
  podSelector?: { matchLabels?: Record<string, string> };
  ipBlock?: { cidr: string };
}
interface NetworkPolicy extends K8sObject {
  spec: {
    podSelector: { matchLabels: Record<string, string> };
    policyTypes: string[];
    ingress?: { from?: Peer[]; ports?: { port: string | number }[] }[];
    egress?: { to?: Peer[]; ports?: { port: string | number; protocol?: string }[] }[];
  };
}

interface HorizontalPodAutoscaler extends K8sObject {
  spec: {
    scaleTargetRef: { kind: string; name: string };
    minReplicas: number;
    maxReplicas: number;
  };
}

const rendered = new Map<Overlay, K8sObject[]>();

/** Read from the environment by libs/config's SecretResolver, not through a service's DTO. */
const READ_OUTSIDE_THE_DTO = new Set(['SECRETS_DIR']);

/** The service's config loader (load<Service>Config, or loadConfig with its DTO) and the settings its DTO declares. */
async function configOf_(service: Service) {
  const module = (await import(`../../apps/${service}/src/config.ts`)) as Record<string, unknown>;
  const dto = Object.values(module).find(
    (value): value is new () => object =>
      typeof value === 'function' && value.prototype instanceof BaseServiceConfig,
  );
  if (!dto) throw new Error(`apps/${service}/src/config.ts exports no BaseServiceConfig DTO`);
  const loader = Object.entries(module).find(([name]) => /^load\w*Config$/.test(name))?.[1] as
    ((env: Record<string, string>) => unknown) | undefined;
  const settings = new Set(
    getMetadataStorage()
      .getTargetValidationMetadatas(dto, '', true, false)
      .map((m) => m.propertyName),
  );
  return {
    load: (loader ?? ((env: Record<string, string>) => loadConfig(dto, env))) as (
      env: Record<string, string>,
    ) => Record<string, unknown>,
    settings,
  };
}

beforeAll(() => {
  for (const overlay of OVERLAYS) {
    rendered.set(overlay, renderKustomization(join(DEPLOY, 'k8s/overlays', overlay)));
  }
});

const objects = (overlay: Overlay) => rendered.get(overlay)!;
const ofKind = <T extends K8sObject>(overlay: Overlay, kind: string) =>
  objects(overlay).filter((o) => o.kind === kind) as T[];
const named = <T extends K8sObject>(overlay: Overlay, kind: string, name: string) => {
  const found = ofKind<T>(overlay, kind).find((o) => o.metadata.name === name);
  if (!found) throw new Error(`${overlay}: no ${kind} named ${name}`);
  return found;
};
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

/** The ConfigMap a Deployment reads its settings from. */
function configOf(overlay: Overlay, deployment: Deployment): Record<string, string> {
  const ref = deployment.spec.template.spec.containers[0].envFrom?.[0]?.configMapRef?.name;
  if (!ref) throw new Error(`${deployment.metadata.name} reads no ConfigMap`);
  return (named(overlay, 'ConfigMap', ref) as K8sObject & { data: Record<string, string> }).data;
}

/** The service a Deployment runs (device-health-antom runs device-health). */
const serviceOf = (deployment: Deployment) =>
  deployment.spec.template.metadata.labels['app.kubernetes.io/name'];

describe.each(OVERLAYS)('overlay %s', (overlay) => {
  it('renders, and every object is valid against the Kubernetes API schemas (offline)', async () => {
    expect(objects(overlay).length).toBeGreaterThan(20);
    const problems = (await Promise.all(objects(overlay).map(schemaProblem))).filter(Boolean);
    expect(problems).toEqual([]);
  });

  it('runs every service, each with its Service, ServiceAccount, PDB, HPA and NetworkPolicy', () => {
    const deployments = ofKind<Deployment>(overlay, 'Deployment');
    expect(new Set(deployments.map(serviceOf))).toEqual(new Set(SERVICES));
    for (const deployment of deployments) {
      const name = deployment.metadata.name;
      const pod = deployment.spec.template;
      expect(matches(deployment.spec.selector.matchLabels, pod.metadata.labels)).toBe(true);
      const service = named<K8sObject & { spec: { selector: Record<string, string> } }>(
        overlay,
        'Service',
        name,
      );
      expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
      named(overlay, 'ServiceAccount', pod.spec.serviceAccountName ?? '');
      const pdb = named<
        K8sObject & { spec: { selector: { matchLabels: Record<string, string> } } }
      >(overlay, 'PodDisruptionBudget', name);
      expect(pdb.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
      const hpa = named<K8sObject & { spec: { scaleTargetRef: { kind: string; name: string } } }>(
        overlay,
        'HorizontalPodAutoscaler',
        name,
      );
      expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name });
      const policy = named<NetworkPolicy>(overlay, 'NetworkPolicy', name);
      expect(policy.spec.podSelector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
    }
  });

  it('leaves the scale to the HPA: no spec.replicas on a Deployment an HPA scales (an apply would reset it)', () => {
    const scaled = ofKind<HorizontalPodAutoscaler>(overlay, 'HorizontalPodAutoscaler')
      .filter((hpa) => hpa.spec.scaleTargetRef.kind === 'Deployment')
      .map((hpa) => hpa.spec.scaleTargetRef.name);
    expect(scaled.length).toBeGreaterThan(0);
    for (const name of scaled) {
      const deployment = named<Deployment>(overlay, 'Deployment', name);
      expect(deployment.spec, `${name} sets spec.replicas`).not.toHaveProperty('replicas');
    }
  });

  it('selects each deployment’s pods with its own selector only (no two deployments overlap)', () => {
    const deployments = ofKind<Deployment>(overlay, 'Deployment');
    for (const a of deployments) {
      for (const b of deployments) {
        if (a === b) continue;
        expect(
          matches(a.spec.selector.matchLabels, b.spec.template.metadata.labels),
          `${a.metadata.name} selects ${b.metadata.name}'s pods`,
        ).toBe(false);
      }
    }
  });

  it('probes /healthz and /readyz on the ops port, with resources and a locked-down security context', () => {
    for (const deployment of ofKind<Deployment>(overlay, 'Deployment')) {
      const pod = deployment.spec.template.spec;
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(pod.containers).toHaveLength(1);
      const [container] = pod.containers;
      expect(container.ports?.find((p) => p.name === 'ops')?.containerPort).toBe(
        Number(configOf(overlay, deployment).OPS_PORT),
      );
      expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'ops' });
      expect(container.startupProbe?.httpGet).toEqual({ path: '/healthz', port: 'ops' });
      expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'ops' });
      expect(Object.keys(container.resources?.requests ?? {}).sort()).toEqual(['cpu', 'memory']);
      expect(container.resources?.limits?.memory).toBeDefined();
      expect(container.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        privileged: false,
        capabilities: { drop: ['ALL'] },
      });
    }
  });

  it('gives every pod time to drain: grace ≥ preStop + SHUTDOWN_GRACE_MS + runMain margin', () => {
    for (const deployment of ofKind<Deployment>(overlay, 'Deployment')) {
      const pod = deployment.spec.template.spec;
      const preStop = pod.containers[0].lifecycle?.preStop?.sleep?.seconds;
      expect(preStop, `${deployment.metadata.name} preStop`).toBeGreaterThan(0);
      const drainS = Number(configOf(overlay, deployment).SHUTDOWN_GRACE_MS) / 1000;
      expect(drainS).toBeGreaterThan(0);
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(
        preStop! + drainS + RUN_MAIN_MARGIN_S,
      );
      if (serviceOf(deployment) === 'edc-command') {
        // A replica asked to stop mid-Purchase finishes the Purchase before it drains.
        expect(drainS).toBeGreaterThan(LONGEST_EDC_COMMAND_S);
        expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(
          preStop! + LONGEST_EDC_COMMAND_S + RUN_MAIN_MARGIN_S,
        );
      }
    }
  });

  it('takes secrets only from Secrets (secretKeyRef or a mounted volume), never from a value', () => {
    expect(ofKind(overlay, 'Secret')).toEqual([]);
    for (const deployment of ofKind<Deployment>(overlay, 'Deployment')) {
      const [container] = deployment.spec.template.spec.containers;
      const service = serviceOf(deployment) as Service;
      const password = container.env?.find((e) => e.name === 'NATS_PASSWORD');
      const natsSecret = `tillbus-nats-${service}`;
      expect(password?.valueFrom?.secretKeyRef).toEqual({ name: natsSecret, key: 'password' });
      for (const env of container.env ?? []) {
        if (/PASSWORD|SECRET|TOKEN|PRIVATE|KEY$/i.test(env.name)) {
          expect(env.value, `${deployment.metadata.name} ${env.name}`).toBeUndefined();
        }
      }
      const config = configOf(overlay, deployment);
      for (const [key, value] of Object.entries(config)) {
        if (/PASSWORD|SECRET|TOKEN/i.test(key) && !key.endsWith('_DIR')) {
          // Only references (env:NAME, file:/path or a bare name under SECRETS_DIR) may appear in a ConfigMap.
          expect(value, `${key} in ${deployment.metadata.name}'s ConfigMap`).toMatch(
            /^(env:[A-Z_][A-Z0-9_]*|file:\/\S+|[A-Za-z0-9][A-Za-z0-9._-]{0,127})$/,
          );
        }
      }
      const secretVolumes = (deployment.spec.template.spec.volumes ?? []).filter(
        (v) => v.secret && v.secret.secretName !== natsSecret,
      );
      for (const volume of secretVolumes) {
        const mount = container.volumeMounts?.find((m) => m.name === volume.name);
        expect(mount).toMatchObject({ mountPath: config.SECRETS_DIR, readOnly: true });
        expect(volume.secret!.secretName).toMatch(/^tillbus-[a-z-]+-secrets$/);
      }
    }
  });

  it('lets in only Prometheus (and D-Store, for order-reconciliation) and out only NATS and DNS', () => {
    for (const deployment of ofKind<Deployment>(overlay, 'Deployment')) {
      const policy = named<NetworkPolicy>(overlay, 'NetworkPolicy', deployment.metadata.name);
      expect(policy.spec.policyTypes.sort()).toEqual(['Egress', 'Ingress']);
      const ingress = policy.spec.ingress ?? [];
      const expectedIngress = serviceOf(deployment) === 'order-reconciliation' ? 2 : 1;
      expect(ingress).toHaveLength(expectedIngress);
      expect(ingress[0]).toEqual({
        from: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
            podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
          },
        ],
        ports: [{ port: 'ops', protocol: 'TCP' }],
      });
      if (expectedIngress === 2) {
        expect(ingress[1]).toMatchObject({
          from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'ingress-nginx' } } }],
          ports: [{ port: 'http', protocol: 'TCP' }],
        });
      }
      expect(policy.spec.egress).toEqual([
        {
          to: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'nats' } },
              podSelector: { matchLabels: { 'app.kubernetes.io/name': 'nats' } },
            },
          ],
          ports: [{ port: 4222, protocol: 'TCP' }],
        },
        {
          to: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
              podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
            },
          ],
          ports: [
            { port: 53, protocol: 'UDP' },
            { port: 53, protocol: 'TCP' },
          ],
        },
      ]);
    }
    // Vendor traffic is a separate, egress-only policy per vendor (site.test.ts checks its peers); edc-command has none.
    const vendorPolicies = ofKind<NetworkPolicy>(overlay, 'NetworkPolicy').filter(
      (p) => p.metadata.labels?.['tillbus.io/egress-to'],
    );
    expect(vendorPolicies.length).toBeGreaterThanOrEqual(4);
    for (const policy of vendorPolicies) {
      expect(policy.spec.policyTypes).toEqual(['Egress']);
      expect(policy.spec.ingress).toBeUndefined();
      expect(policy.spec.podSelector.matchLabels['app.kubernetes.io/name']).not.toBe('edc-command');
    }
  });

  it('configures a service that boots: its own config DTO accepts every setting, and every key is one it reads', async () => {
    for (const deployment of ofKind<Deployment>(overlay, 'Deployment')) {
      const service = serviceOf(deployment) as Service;
      const { load, settings } = await configOf_(service);
      const config = configOf(overlay, deployment);
      const env: Record<string, string> = { ...config };
      for (const e of deployment.spec.template.spec.containers[0].env ?? []) {
        env[e.name] = e.value ?? 'a-value-from-a-secret';
      }
      expect(() => load(env), deployment.metadata.name).not.toThrow();
      const unknown = Object.keys(config).filter(
        (key) => !settings.has(key) && !READ_OUTSIDE_THE_DTO.has(key),
      );
      expect(unknown, `${deployment.metadata.name}: settings the service does not read`).toEqual(
        [],
      );
    }
  });

  it('gives each device-health deployment the vendors its name says, as its config loader reads them', async () => {
    const { load } = await configOf_('device-health');
    const deployments = ofKind<Deployment>(overlay, 'Deployment').filter(
      (d) => serviceOf(d) === 'device-health',
    );
    expect(deployments.length).toBeGreaterThan(0);
    const served = new Map<string, unknown>();
    for (const deployment of deployments) {
      const config = configOf(overlay, deployment);
      const vendors = load({ ...config, NATS_PASSWORD: 'a-value-from-a-secret' })
        .DEVICE_HEALTH_VENDORS as string[];
      served.set(deployment.metadata.name, vendors);
      // The loader refuses what the deployment would refuse at boot: a vendor list that is not a subset.
      expect(() => load({ ...config, DEVICE_HEALTH_VENDORS: 'antom,verifone' })).toThrow(
        /DEVICE_HEALTH_VENDORS/,
      );
    }
    expect(Object.fromEntries(served)).toEqual(
      overlay === 'per-vendor'
        ? { 'device-health-antom': ['antom'], 'device-health-adyen': ['adyen'] }
        : { 'device-health': ['antom', 'adyen'] },
    );
  });

  it('connects every service to NATS with its own user', () => {
    for (const deployment of ofKind<Deployment>(overlay, 'Deployment')) {
      const config = configOf(overlay, deployment);
      expect(config.NATS_USER).toBe(serviceOf(deployment));
      // TLS only, verifying the server with the CA mounted from the ConfigMap tillbus-nats-ca.
      expect(config.NATS_URL).toMatch(/^tls:\/\/nats\.nats\.svc\.cluster\.local:4222$/);
      expect(config.NATS_TLS_CA_FILE).toBe('/etc/tillbus/nats-ca/ca.crt');
      const [container] = deployment.spec.template.spec.containers;
      expect(container.volumeMounts).toContainEqual({
        name: 'nats-ca',
        mountPath: '/etc/tillbus/nats-ca',
        readOnly: true,
      });
      expect(deployment.spec.template.spec.volumes).toContainEqual({
        name: 'nats-ca',
        configMap: { name: 'tillbus-nats-ca' },
      });
    }
  });
});

describe('overlay differences', () => {
  it('dev: one replica each (HPA 1-2) and R1 streams for a single-node NATS', () => {
    for (const deployment of ofKind<Deployment>('dev', 'Deployment')) {
      const hpa = named<HorizontalPodAutoscaler>(
        'dev',
        'HorizontalPodAutoscaler',
        deployment.metadata.name,
      );
      expect([hpa.spec.minReplicas, hpa.spec.maxReplicas]).toEqual([1, 2]);
      expect(configOf('dev', deployment).STREAM_REPLICAS).toBe('1');
    }
  });

  it.each(['production', 'per-vendor'] as const)(
    '%s: R3 streams, 3+ replicas spread over zones, pinned images, monitoring',
    (overlay) => {
      for (const deployment of ofKind<Deployment>(overlay, 'Deployment')) {
        expect(deployment.metadata.namespace).toBe('tillbus');
        expect(configOf(overlay, deployment).STREAM_REPLICAS).toBe('3');
        const image = deployment.spec.template.spec.containers[0].image;
        expect(image).toMatch(/^[\w.-]+\/tillbus\/[a-z-]+(:\d+\.\d+\.\d+|@sha256:[0-9a-f]{64})$/);
        const spread = (deployment.spec.template.spec as { topologySpreadConstraints?: unknown[] })
          .topologySpreadConstraints;
        expect(spread).toEqual(
          expect.arrayContaining([
            expect.objectContaining({ topologyKey: 'topology.kubernetes.io/zone' }),
          ]),
        );
      }
      for (const hpa of ofKind<HorizontalPodAutoscaler>(overlay, 'HorizontalPodAutoscaler')) {
        expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(3);
      }
      const kinds = new Set(objects(overlay).map((o) => o.kind));
      expect(kinds).toContain('ServiceMonitor');
      expect(kinds).toContain('PrometheusRule');
    },
  );

  it('per-vendor: device-health-antom and device-health-adyen differ only by their vendor setting and keys', () => {
    const deployments = ofKind<Deployment>('per-vendor', 'Deployment').filter(
      (d) => serviceOf(d) === 'device-health',
    );
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual([
      'device-health-adyen',
      'device-health-antom',
    ]);
    const [adyen, antom] = deployments.sort((a, b) =>
      a.metadata.name.localeCompare(b.metadata.name),
    );
    const { DEVICE_HEALTH_VENDORS: adyenVendor, ...adyenRest } = configOf('per-vendor', adyen);
    const { DEVICE_HEALTH_VENDORS: antomVendor, ...antomRest } = configOf('per-vendor', antom);
    expect([adyenVendor, antomVendor]).toEqual(['adyen', 'antom']);
    expect(adyenRest).toEqual(antomRest);
    // The same image and pod, apart from names, labels and which vendor's keys are mounted.
    const normalise = (d: Deployment, vendor: string) =>
      JSON.parse(
        JSON.stringify(d.spec.template.spec)
          .replace(/device-health-config-[a-z]+-[a-z0-9]+"/, 'device-health-config"')
          .replaceAll(`device-health-${vendor}`, 'device-health'),
      ) as unknown;
    expect(normalise(adyen, 'adyen')).toEqual(normalise(antom, 'antom'));
    expect(adyen.spec.template.spec.volumes?.find((v) => v.secret)?.secret?.secretName).toBe(
      'tillbus-device-health-adyen-secrets',
    );
  });
});

describe('the offline schema check', () => {
  it('refuses what the API server would refuse: a wrong type, a missing field, an unknown kind', async () => {
    const deployment = structuredClone(
      named<Deployment>('production', 'Deployment', 'edc-command'),
    );
    (
      deployment.spec.template.spec.containers[0].ports![0] as { containerPort: unknown }
    ).containerPort = 'ops';
    expect(await schemaProblem(deployment)).toMatch(/containerPort must be integer/);
    const noSelector = structuredClone(
      named<Deployment>('production', 'Deployment', 'edc-command'),
    );
    delete (noSelector.spec as Partial<Deployment['spec']>).selector;
    expect(await schemaProblem(noSelector)).toMatch(/selector/);
    expect(
      await schemaProblem({ apiVersion: 'apps/v1', kind: 'Deploymnet', metadata: { name: 'x' } }),
    ).toMatch(/no offline schema/);
  });
});

describe('manifest files', () => {
  it('hold one Kubernetes kind per file', () => {
    const files = [
      ...filesUnder(join(DEPLOY, 'k8s'), ['.yaml', '.yml']),
      ...filesUnder(join(DEPLOY, 'prometheus'), ['.yaml', '.yml']).filter(
        (f) => !f.includes('/rules/') && !f.includes('/tests/'),
      ),
    ];
    expect(files.length).toBeGreaterThan(30);
    for (const file of files) {
      const docs = parseYamlDocuments(readFileSync(file, 'utf8'), file) as {
        kind?: string;
      }[];
      const where = relative(ROOT, file);
      expect(docs, where).toHaveLength(1);
      expect(docs[0].kind, where).toBeTypeOf('string');
    }
  });
});

describe.each(['dev', 'production'] as const)('the provisioning Job (%s)', (overlay) => {
  it('runs `tillbus provision` as the provisioner user, with the services’ settings and the NATS CA', () => {
    const jobs = ofKind<K8sObject & { spec: { template: Deployment['spec']['template'] } }>(
      overlay,
      'Job',
    );
    expect(jobs.map((j) => j.metadata.name)).toEqual(['tillbus-provision']);
    const [container] = jobs[0].spec.template.spec.containers;
    expect(container.args).toEqual(['provision']);
    expect(container.env).toContainEqual({ name: 'NATS_USER', value: 'provisioner' });
    expect(container.env?.find((e) => e.name === 'NATS_PASSWORD')?.valueFrom?.secretKeyRef).toEqual(
      {
        name: 'tillbus-nats-provisioner',
        key: 'password',
      },
    );
    const configMaps = (container.envFrom ?? []).map((e) => e.configMapRef?.name ?? '');
    const serviceConfigs = ofKind<Deployment>(overlay, 'Deployment').flatMap((d) =>
      (d.spec.template.spec.containers[0].envFrom ?? []).map((e) => e.configMapRef?.name ?? ''),
    );
    expect(configMaps.sort()).toEqual([...new Set(serviceConfigs)].sort());
    expect(container.volumeMounts).toContainEqual({
      name: 'nats-ca',
      mountPath: '/etc/tillbus/nats-ca',
      readOnly: true,
    });
  });
});
