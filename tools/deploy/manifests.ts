import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const ROOT = join(__dirname, '../..');
export const DEPLOY = join(ROOT, 'deploy');

export const SERVICES = [
  'device-health',
  'order-reconciliation',
  'edc-command',
  'easycard-session',
] as const;
export type Service = (typeof SERVICES)[number];

export const KUBECTL_HINT =
  "kubectl was not found on PATH: the manifest tests render every overlay with kubectl's built-in kustomize. " +
  'Install kubectl (https://kubernetes.io/docs/tasks/tools/; Debian/Ubuntu: the kubernetes apt repository, ' +
  'or `curl -LO https://dl.k8s.io/release/$(curl -Ls https://dl.k8s.io/release/stable.txt)/bin/linux/amd64/kubectl`), ' +
  'or set KUBECTL to its path.';

/** A rendered Kubernetes object; only the fields the checks read are typed. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

export function findKubectl(): string | undefined {
  if (process.env.KUBECTL) return process.env.KUBECTL;
  const found = spawnSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path ? path : undefined;
}

/** `kubectl kustomize <dir>`, parsed; throws with kustomize's own message when rendering fails. */
export function renderKustomization(dir: string): K8sObject[] {
  const kubectl = findKubectl();
  if (!kubectl) throw new Error(KUBECTL_HINT);
  const run = spawnSync(kubectl, ['kustomize', dir], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.status !== 0) {
    throw new Error(`kubectl kustomize ${relative(ROOT, dir)} failed:\n${run.stderr}`);
  }
  return parseYamlDocuments(run.stdout, relative(ROOT, dir)) as K8sObject[];
}

export function parseYamlDocuments(text: string, source: string): unknown[] {
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  return list
    .map((doc, i) => {
      if (doc.errors.length > 0) {
        throw new Error(`${source}, document ${i + 1}: ${doc.errors[0].message}`);
      }
      return doc.toJS() as unknown;
    })
    .filter((value) => value !== null && value !== undefined);
}

/** The model class of kubernetes-models (or the prometheus-operator models) for an apiVersion and kind. */
async function modelFor(
  apiVersion: string,
  kind: string,
): Promise<{ new (data: unknown): { validate(): void } }> {
  const specifier = apiVersion.startsWith('monitoring.coreos.com/')
    ? `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`
    : `kubernetes-models/${apiVersion}/${kind}`;
  let module: Record<string, unknown>;
  try {
    module = (await import(specifier)) as Record<string, unknown>;
  } catch (error) {
    throw new Error(
      `no offline schema for ${apiVersion} ${kind} (${specifier}): ${(error as Error).message}`,
    );
  }
  const model = module[kind];
  if (typeof model !== 'function') throw new Error(`${specifier} does not export ${kind}`);
  return model as { new (data: unknown): { validate(): void } };
}

/**
 * Validates one object against the Kubernetes (or prometheus-operator) OpenAPI schema shipped by
 * kubernetes-models: types, required fields, enums and formats. Returns the problem, or undefined.
 */
export async function schemaProblem(object: K8sObject): Promise<string | undefined> {
  try {
    const Model = await modelFor(object.apiVersion, object.kind);
    new Model(object).validate();
    return undefined;
  } catch (error) {
    return `${object.kind}/${object.metadata?.name}: ${(error as Error).message}`;
  }
}

/** Every file under `dir` whose name ends with one of `extensions`. */
export function filesUnder(dir: string, extensions: string[]): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path, extensions));
    else if (extensions.some((ext) => name.endsWith(ext))) out.push(path);
  }
  return out.sort();
}

/** KEY=VALUE lines of an env file (what kustomize's configMapGenerator `envs` reads). */
export function readEnvFile(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) continue;
    const at = trimmed.indexOf('=');
    out[trimmed.slice(0, at)] = trimmed.slice(at + 1);
  }
  return out;
}

/** GitHub's anchor for a Markdown heading. */
export const markdownAnchor = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-');

/** The anchors of docs/operations.md's sections (where every alert's runbook_url points). */
export function operationsAnchors(): string[] {
  return readFileSync(join(ROOT, 'docs/operations.md'), 'utf8')
    .split('\n')
    .filter((line) => /^#{2,4} /.test(line))
    .map((line) => markdownAnchor(line.replace(/^#+ /, '')));
}
