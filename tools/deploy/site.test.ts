/**
 * The site settings (deploy/k8s/site/<environment>/settings.yaml) reach every manifest that depends on the
 * installation: the monitoring selector label, the runbook links, the D-Store edge Ingress, and the vendor egress,
 * which opens only each vendor's endpoints, and only to the service that talks to that vendor.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { DEPLOY, operationsAnchors, renderKustomization, ROOT, type K8sObject } from './manifests';

/** Each overlay and the site settings it reads. */
const SITE_OF = { dev: 'dev', production: 'production', 'per-vendor': 'production' } as const;
type Overlay = keyof typeof SITE_OF;
const OVERLAYS = Object.keys(SITE_OF) as Overlay[];

interface Peer {
  ipBlock?: { cidr: string; except?: string[] };
  namespaceSelector?: unknown;
  podSelector?: unknown;
}
interface EgressRule {
  to?: Peer[];
  ports?: { port: number | string; protocol?: string }[];
}
interface NetworkPolicy extends K8sObject {
  spec: { podSelector: { matchLabels?: Record<string, string> }; egress?: EgressRule[] };
}
interface Deployment extends K8sObject {
  spec: {
    template: {
      metadata: { labels: Record<string, string> };
      spec: { containers: { envFrom?: { configMapRef?: { name: string } }[] }[] };
    };
  };
}
interface SiteSettings {
  spec: {
    monitoring: { release: string; runbookUrl: string };
    dstoreEdge: { host: string; clusterIssuer: string };
    egress: Record<string, Peer[]>;
  };
}

/** The endpoints (site settings `egress` keys) and port each vendor's policy opens. */
const VENDOR_RULES: Record<string, { endpoints: string; port: number }[]> = {
  antom: [{ endpoints: 'antomTerminals', port: 443 }],
  adyen: [
    { endpoints: 'adyenTerminals', port: 8443 },
    { endpoints: 'adyenCloud', port: 443 },
  ],
  intella: [{ endpoints: 'intella', port: 443 }],
  dstore: [{ endpoints: 'dstore', port: 443 }],
};
/** The vendors each service talks to outside the bus (device-health: those of DEVICE_HEALTH_VENDORS). */
const VENDORS_OF: Record<string, string[]> = {
  'device-health': ['antom', 'adyen'],
  'order-reconciliation': ['dstore'],
  'easycard-session': ['intella'],
  'edc-command': [],
};
/** Left in the bases for the site settings to replace; none may reach a rendered overlay. */
const PLACEHOLDERS = ['set-by-site-settings', '192.0.2.255/32'];
/** The widest range a vendor policy may open (no 0.0.0.0/0, no 10.0.0.0/8). */
const WIDEST_PREFIX = 16;

const settingsOf = (dir: string): SiteSettings =>
  parse(readFileSync(join(dir, 'settings.yaml'), 'utf8'));
const rendered = new Map<Overlay, K8sObject[]>();
beforeAll(() => {
  for (const overlay of OVERLAYS) {
    rendered.set(overlay, renderKustomization(join(DEPLOY, 'k8s/overlays', overlay)));
  }
});

const ofKind = <T extends K8sObject>(objects: K8sObject[], kind: string) =>
  objects.filter((o) => o.kind === kind) as T[];
const matches = (selector: Record<string, string> = {}, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

/** The vendors a deployment talks to: its service's, narrowed by DEVICE_HEALTH_VENDORS where set. */
function vendorsOf(objects: K8sObject[], deployment: Deployment): string[] {
  const service = deployment.spec.template.metadata.labels['app.kubernetes.io/name'];
  const configName = deployment.spec.template.spec.containers[0].envFrom?.[0]?.configMapRef?.name;
  const config = ofKind<K8sObject & { data: Record<string, string> }>(objects, 'ConfigMap').find(
    (c) => c.metadata.name === configName,
  )?.data;
  const served = config?.DEVICE_HEALTH_VENDORS?.split(',');
  return VENDORS_OF[service].filter((vendor) => !served || served.includes(vendor));
}

describe.each(OVERLAYS)('overlay %s, with the site settings of %s', (overlay) => {
  const objects = () => rendered.get(overlay)!;
  const settings = () => settingsOf(join(DEPLOY, 'k8s/site', SITE_OF[overlay]));

  it("lets each deployment reach only its own vendors' endpoints, exactly as the site settings list them", () => {
    const policies = ofKind<NetworkPolicy>(objects(), 'NetworkPolicy');
    for (const deployment of ofKind<Deployment>(objects(), 'Deployment')) {
      const podLabels = deployment.spec.template.metadata.labels;
      const vendorPolicies = policies.filter(
        (p) =>
          p.metadata.labels?.['tillbus.io/egress-to'] &&
          matches(p.spec.podSelector.matchLabels, podLabels),
      );
      const name = deployment.metadata.name;
      expect(
        vendorPolicies.map((p) => p.metadata.labels!['tillbus.io/egress-to']).sort(),
        `${name}: vendors it may reach`,
      ).toEqual(vendorsOf(objects(), deployment).sort());
      for (const policy of vendorPolicies) {
        const vendor = policy.metadata.labels!['tillbus.io/egress-to'];
        expect(policy.spec.egress, `${policy.metadata.name}`).toEqual(
          VENDOR_RULES[vendor].map(({ endpoints, port }) => ({
            to: settings().spec.egress[endpoints],
            ports: [{ port, protocol: 'TCP' }],
          })),
        );
      }
    }
  });

  it(`opens no wide range: every egress rule names its peers, each at most a /${WIDEST_PREFIX}`, () => {
    for (const policy of ofKind<NetworkPolicy>(objects(), 'NetworkPolicy')) {
      for (const rule of policy.spec.egress ?? []) {
        // An empty or missing `to` allows every destination.
        expect(rule.to?.length, `${policy.metadata.name}: a rule without peers`).toBeGreaterThan(0);
        for (const peer of rule.to!) {
          if (!peer.ipBlock) continue;
          expect(peer.ipBlock.except, `${policy.metadata.name}`).toBeUndefined();
          const prefix = Number(peer.ipBlock.cidr.split('/')[1]);
          expect(prefix, `${policy.metadata.name}: ${peer.ipBlock.cidr}`).toBeGreaterThanOrEqual(
            WIDEST_PREFIX,
          );
        }
      }
    }
  });

  it('serves the D-Store edge over TLS: the site host, a cert-manager certificate, the documented paths only', () => {
    const [ingress] = ofKind<
      K8sObject & {
        metadata: { annotations: Record<string, string> };
        spec: {
          ingressClassName: string;
          tls: { hosts: string[]; secretName: string }[];
          rules: {
            host: string;
            http: {
              paths: {
                path: string;
                pathType: string;
                backend: { service: { name: string; port: { name: string } } };
              }[];
            };
          }[];
        };
      }
    >(objects(), 'Ingress');
    const { host, clusterIssuer } = settings().spec.dstoreEdge;
    expect(ingress.metadata.name).toBe('order-reconciliation');
    expect(ingress.metadata.annotations).toMatchObject({
      'cert-manager.io/cluster-issuer': clusterIssuer,
      'nginx.ingress.kubernetes.io/force-ssl-redirect': 'true',
    });
    expect(ingress.spec.ingressClassName).toBe('nginx');
    expect(ingress.spec.tls).toEqual([{ hosts: [host], secretName: 'order-reconciliation-tls' }]);
    expect(ingress.spec.rules.map((r) => r.host)).toEqual([host]);
    const openapi = parse(readFileSync(join(ROOT, 'docs/openapi.yaml'), 'utf8')) as {
      paths: Record<string, unknown>;
    };
    const paths = ingress.spec.rules[0].http.paths;
    expect(paths.map((p) => p.path).sort()).toEqual(Object.keys(openapi.paths).sort());
    for (const path of paths) {
      expect(path.pathType).toBe('Exact');
      expect(path.backend.service).toEqual({
        name: 'order-reconciliation',
        port: { name: 'http' },
      });
    }
    const service = ofKind<K8sObject & { spec: { ports: { name: string }[] } }>(
      objects(),
      'Service',
    ).find((s) => s.metadata.name === 'order-reconciliation');
    expect(service?.spec.ports.map((p) => p.name)).toContain('http');
  });

  it('leaves no base placeholder and no SiteSettings object in what kubectl applies', () => {
    const text = stringify(objects());
    for (const placeholder of PLACEHOLDERS) expect(text).not.toContain(placeholder);
    expect(objects().map((o) => o.kind)).not.toContain('SiteSettings');
  });
});

describe.each(['production', 'per-vendor'] as const)('monitoring in overlay %s', (overlay) => {
  const objects = () => rendered.get(overlay)!;
  const { monitoring } = settingsOf(join(DEPLOY, 'k8s/site/production')).spec;

  it("carries the label kube-prometheus-stack's Prometheus selects by, on every ServiceMonitor and PrometheusRule", () => {
    const monitors = objects().filter((o) => ['ServiceMonitor', 'PrometheusRule'].includes(o.kind));
    expect(monitors.length).toBe(5);
    for (const object of monitors) {
      expect(object.metadata.labels?.release, object.metadata.name).toBe(monitoring.release);
    }
  });

  it("links every alert to its runbook: the site's operations.md, at a section that exists", () => {
    const anchors = operationsAnchors();
    const [rule] = ofKind<
      K8sObject & {
        spec: {
          groups: { rules: { alert?: string; annotations?: Record<string, string> }[] }[];
        };
      }
    >(objects(), 'PrometheusRule');
    const alerts = rule.spec.groups.flatMap((g) => g.rules).filter((r) => r.alert);
    expect(alerts.length).toBeGreaterThan(10);
    for (const alert of alerts) {
      const url = alert.annotations?.runbook_url ?? '';
      expect(url).toBe(`${monitoring.runbookUrl}#${alert.alert!.toLowerCase()}`);
      expect(anchors, `${alert.alert}`).toContain(url.split('#')[1]);
    }
  });
});

describe('the site settings', () => {
  let copy: string;
  afterAll(() => rmSync(copy, { recursive: true, force: true }));

  it('are the one place to change: other values render into the manifests, with no other file edited', () => {
    copy = mkdtempSync(join(tmpdir(), 'tillbus-site-'));
    cpSync(DEPLOY, join(copy, 'deploy'), { recursive: true });
    const site = join(copy, 'deploy/k8s/site/production');
    const settings = settingsOf(site);
    settings.spec.monitoring.release = 'monitoring-stack';
    settings.spec.monitoring.runbookUrl = 'https://wiki.corp.test/tillbus/operations';
    settings.spec.dstoreEdge = { host: 'pos-edge.corp.test', clusterIssuer: 'corp-ca' };
    settings.spec.egress.dstore = [{ ipBlock: { cidr: '100.64.1.0/24' } }];
    writeFileSync(join(site, 'settings.yaml'), stringify(settings));

    const objects = renderKustomization(join(copy, 'deploy/k8s/overlays/per-vendor'));
    const text = stringify(objects);
    expect(objects.find((o) => o.kind === 'ServiceMonitor')?.metadata.labels?.release).toBe(
      'monitoring-stack',
    );
    expect(text).toContain(
      'runbook_url: https://wiki.corp.test/tillbus/operations#tillbusservicedown',
    );
    expect(text).toContain('host: pos-edge.corp.test');
    expect(text).toContain('cert-manager.io/cluster-issuer: corp-ca');
    const dstore = ofKind<NetworkPolicy>(objects, 'NetworkPolicy').find(
      (p) => p.metadata.labels?.['tillbus.io/egress-to'] === 'dstore',
    );
    expect(dstore?.spec.egress?.[0].to).toEqual([{ ipBlock: { cidr: '100.64.1.0/24' } }]);
  });
});
