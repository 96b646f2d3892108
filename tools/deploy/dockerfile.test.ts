import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseDockerfile } from './dockerfile';
import { DEPLOY, ROOT, SERVICES } from './manifests';

const dockerfile = (svc: string) => join(DEPLOY, 'docker', svc, 'Dockerfile');
const read = (svc: string) => readFileSync(dockerfile(svc), 'utf8');

/** The UID the Kubernetes manifests run every container as. */
function manifestUid(svc: string): number {
  const deployment = parse(
    readFileSync(join(DEPLOY, 'k8s/base', svc, 'deployment.yaml'), 'utf8'),
  ) as { spec: { template: { spec: { securityContext: { runAsUser: number } } } } };
  return deployment.spec.template.spec.securityContext.runAsUser;
}

describe.each(SERVICES)('the %s image', (svc) => {
  const { args, stages } = parseDockerfile(read(svc));
  const stage = (name: string) => {
    const found = stages.find((s) => s.name === name);
    if (!found) throw new Error(`${svc}: no stage ${name}`);
    return found;
  };
  const runs = (name: string) =>
    stage(name)
      .instructions.filter((i) => i.keyword === 'RUN')
      .map((i) => i.args);

  it('is multi-stage on a Node LTS slim base pinned by digest, the tag beside it', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'deps', 'runtime']);
    for (const s of stages) expect(s.from).toBe('${NODE_IMAGE}');
    const match = /^node:(\d+)\.\d+\.\d+-(bookworm|trixie)-slim@sha256:[0-9a-f]{64}$/.exec(
      args.NODE_IMAGE ?? '',
    );
    expect(match, `NODE_IMAGE=${args.NODE_IMAGE}`).not.toBeNull();
    const major = Number(match![1]);
    // LTS lines are the even majors, and the project's dependencies support Node >= 20.19.
    expect(major % 2).toBe(0);
    expect(major).toBeGreaterThanOrEqual(20);
    expect(read(svc).split('\n')[0]).toMatch(
      /^# syntax=docker\/dockerfile:[\d.]+@sha256:[0-9a-f]{64}$/,
    );
  });

  it('installs the workspace with npm ci: exactly the committed lockfile, engines enforced', () => {
    expect(runs('build')[0]).toBe('npm ci --no-audit --no-fund');
    const copied = stage('build').instructions.find((i) => i.keyword === 'COPY')?.args ?? '';
    for (const file of ['package.json', 'package-lock.json', '.npmrc'])
      expect(copied.split(/\s+/)).toContain(file);
    expect(readFileSync(join(ROOT, '.npmrc'), 'utf8')).toMatch(/^engine-strict=true$/m);
  });

  it('cites only tests that exist', () => {
    for (const cited of read(svc).match(/tools\/[\w/.-]+\.test\.ts/g) ?? [])
      expect(existsSync(join(ROOT, cited)), cited).toBe(true);
  });

  it('builds the service and assembles the image with tools/deploy/assemble.mjs', () => {
    expect(runs('build')).toEqual(
      expect.arrayContaining([
        `npx nx run-many -t build -p @tillbus/${svc} --output-style=static`,
        `node tools/deploy/assemble.mjs ${svc} /out`,
      ]),
    );
    expect(existsSync(join(ROOT, 'tools/deploy/assemble.mjs'))).toBe(true);
  });

  it('installs production dependencies only, from the pruned lockfile', () => {
    expect(stage('deps').instructions).toContainEqual({
      keyword: 'COPY',
      args: '--from=build /out/manifest/ ./',
    });
    expect(runs('deps').join(' ')).toMatch(/npm ci --omit=dev --ignore-scripts/);
  });

  it('runs as a non-root user, with no package manager or build tool in the final stage', () => {
    const runtime = stage('runtime');
    const user = runtime.instructions.filter((i) => i.keyword === 'USER').map((i) => i.args);
    expect(user).toEqual([`${manifestUid(svc)}:${manifestUid(svc)}`]);
    expect(manifestUid(svc)).toBeGreaterThan(0);
    const [cleanup] = runs('runtime');
    for (const tool of ['npm', 'npx', 'corepack', 'yarn']) {
      expect(cleanup).toContain(`/usr/local/bin/${tool}`);
    }
    expect(cleanup).toContain('rm -rf /usr/local/lib/node_modules');
    expect(runs('runtime')).toHaveLength(1);
    const copies = runtime.instructions.filter((i) => i.keyword === 'COPY').map((i) => i.args);
    expect(copies).toEqual([
      '--from=deps /app/package.json /app/package-lock.json ./',
      '--from=deps /app/node_modules ./node_modules',
      '--from=build /out/app/ ./',
    ]);
    expect(runtime.instructions).toContainEqual({
      keyword: 'ENTRYPOINT',
      args: '["node", "--enable-source-maps", "dist/main.js"]',
    });
  });

  it('exposes the ports the Kubernetes manifests use', () => {
    const exposed = stage('runtime')
      .instructions.filter((i) => i.keyword === 'EXPOSE')
      .flatMap((i) => i.args.split(/\s+/).map(Number));
    const deployment = parse(
      readFileSync(join(DEPLOY, 'k8s/base', svc, 'deployment.yaml'), 'utf8'),
    ) as {
      spec: { template: { spec: { containers: { ports: { containerPort: number }[] }[] } } };
    };
    const ports = deployment.spec.template.spec.containers[0].ports.map((p) => p.containerPort);
    expect(exposed.sort()).toEqual(ports.sort());
  });

  it('keeps local state out of the build context, with BuildKit and without it', () => {
    const entries = (file: string) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l && !l.startsWith('#'));
    const own = entries(`${dockerfile(svc)}.dockerignore`);
    for (const entry of ['**/node_modules', '**/dist', '.git', '.nx', '.tillbus']) {
      expect(own).toContain(entry);
    }
    // The classic builder reads only the context root's .dockerignore.
    expect(entries(join(ROOT, '.dockerignore'))).toEqual(own);
  });
});

describe('the Dockerfiles', () => {
  it('build the CLI image (the provisioning Job) by the same instructions, pins included', () => {
    const instructions = (text: string) => {
      const { args, stages } = parseDockerfile(text);
      return {
        args,
        stages: stages.map((s) => ({
          ...s,
          instructions: s.instructions.filter((i) => i.keyword !== 'EXPOSE'),
        })),
      };
    };
    const cli = readFileSync(join(DEPLOY, 'docker', 'cli', 'Dockerfile'), 'utf8');
    expect(instructions(cli)).toEqual(
      instructions(read('edc-command').replaceAll('edc-command', 'cli')),
    );
    expect(cli.split('\n')[0]).toBe(read('edc-command').split('\n')[0]);
  });

  it('are one template: they differ only by the service name and its ports', () => {
    const normalise = (svc: string) =>
      read(svc)
        .replaceAll(svc, '<service>')
        .replace(/^EXPOSE .*$/m, 'EXPOSE <ports>');
    const [first, ...rest] = SERVICES;
    for (const svc of rest) expect(normalise(svc)).toBe(normalise(first));
  });
});
