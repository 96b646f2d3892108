import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, posix } from 'node:path';
import { dockerignoreMatcher, parseAssignments, readDockerfile, type Stage } from './dockerfile';

/**
 * Replays a Dockerfile without a Docker engine, instruction by instruction, as root:
 * - the build context is the tracked files (what a clean clone holds) less the root .dockerignore;
 * - each stage gets its own root folder, entered with chroot inside a private mount namespace, so its RUN commands
 *   see the paths they name (/repo, /out, /app, /usr/local...) and nothing of this machine's but read-only /usr;
 * - the base image is stood in for by this machine's Node laid out as the official node image lays it out
 *   (/usr/local/bin/node, /usr/local/lib/node_modules/npm): the digest pinned in the Dockerfile cannot be pulled here;
 * - RUN steps whose instruction and inputs match an earlier replay are taken from a snapshot, as Docker's layer
 *   cache would (the four images share their install steps).
 */

export interface ReplayedImage {
  dockerfile: string;
  /** The final stage's root folder. */
  root: string;
  /** Folder holding the final stage's /usr/local (mounted over the read-only /usr). */
  usrLocal: string;
  workdir: string;
  env: Record<string, string>;
  user: string;
  entrypoint: string[];
  exposed: number[];
  /** Every instruction replayed, as `stage: KEYWORD args`, and whether it came from the layer cache. */
  steps: { stage: string; instruction: string; cached: boolean }[];
}

const BASE_ENV = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: '/root',
};

export function requireRoot(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error(
      'replaying a Dockerfile needs root (a private mount namespace and chroot); CI runs as root',
    );
  }
}

/** The build context: tracked and new files of `repo`, less what .dockerignore excludes, copied into `into`. */
export function buildContext(repo: string, into: string): void {
  const listed = spawnSync(
    'git',
    ['ls-files', '--cached', '--others', '--exclude-standard', '-z'],
    {
      cwd: repo,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
  const ignored = dockerignoreMatcher(readFileSync(join(repo, '.dockerignore'), 'utf8'));
  for (const file of listed.stdout.split('\0').filter(Boolean)) {
    if (ignored(file) || !existsSync(join(repo, file))) continue;
    mkdirSync(dirname(join(into, file)), { recursive: true });
    cpSync(join(repo, file), join(into, file));
  }
}

export class DockerfileReplayer {
  private readonly snapshots = new Map<string, string>();
  private count = 0;

  constructor(
    private readonly work: string,
    private readonly context: string,
  ) {
    requireRoot();
  }

  replay(dockerfile: string): ReplayedImage {
    const { args, stages } = readDockerfile(dockerfile);
    const built = new Map<string, StageState>();
    const steps: ReplayedImage['steps'] = [];
    for (const stage of stages) {
      const from = stage.from.replace(/\$\{(\w+)\}/g, (_, name: string) => args[name] ?? '');
      if (!/^node:\d+\.\d+\.\d+-\w+-slim@sha256:[0-9a-f]{64}$/.test(from)) {
        throw new Error(`${stage.name}: base ${from} is not a digest-pinned node image`);
      }
      const state = this.newStage(stage.name, from);
      for (const instruction of stage.instructions) {
        const cached = this.apply(state, instruction, built);
        steps.push({
          stage: stage.name,
          instruction: `${instruction.keyword} ${instruction.args}`,
          cached,
        });
      }
      built.set(stage.name, state);
    }
    const last = built.get(stages[stages.length - 1]!.name)!;
    return {
      dockerfile,
      root: last.root,
      usrLocal: last.usrLocal,
      workdir: last.workdir,
      env: last.env,
      user: last.user,
      entrypoint: last.entrypoint,
      exposed: last.exposed,
      steps,
    };
  }

  private newStage(name: string, from: string): StageState {
    const dir = join(this.work, `${String(++this.count).padStart(2, '0')}-${name}`);
    const state: StageState = {
      dir,
      root: join(dir, 'root'),
      usrLocal: join(dir, 'usr-local'),
      workdir: '/',
      env: { ...BASE_ENV, NODE_VERSION: /^node:([\d.]+)/.exec(from)![1]! },
      user: 'root',
      entrypoint: [],
      exposed: [],
      key: hash(from),
    };
    layOutBase(state);
    return state;
  }

  /** Applies one instruction; true when a RUN came from the layer cache. */
  private apply(
    state: StageState,
    instruction: Stage['instructions'][number],
    built: Map<string, StageState>,
  ): boolean {
    const { keyword, args } = instruction;
    switch (keyword) {
      case 'WORKDIR':
        state.workdir = posix.resolve(state.workdir, args);
        mkdirSync(this.inRoot(state, state.workdir), { recursive: true });
        state.key = hash(state.key, keyword, args);
        return false;
      case 'ENV':
        Object.assign(state.env, parseAssignments(args));
        state.key = hash(state.key, keyword, args);
        return false;
      case 'COPY':
        this.copy(state, args, built);
        return false;
      case 'RUN':
        return this.run(state, args);
      case 'USER':
        state.user = args;
        return false;
      case 'EXPOSE':
        state.exposed.push(...args.split(/\s+/).map(Number));
        return false;
      case 'ENTRYPOINT':
        state.entrypoint = JSON.parse(args) as string[];
        return false;
      default:
        throw new Error(
          `the replay does not know ${keyword}; teach tools/deploy/replay.ts or avoid it`,
        );
    }
  }

  private copy(state: StageState, args: string, built: Map<string, StageState>): void {
    const words = args.split(/\s+/);
    const fromStage = words[0]!.startsWith('--from=')
      ? words.shift()!.slice('--from='.length)
      : undefined;
    const dest = words.pop()!;
    const source = fromStage ? built.get(fromStage) : undefined;
    if (fromStage && !source) throw new Error(`COPY --from=${fromStage}: no such earlier stage`);
    const sourceRoot = source ? source.root : this.context;
    const destPath = posix.resolve(state.workdir, dest);
    const contentHashes: string[] = [];
    for (const src of words) {
      const from = source ? join(sourceRoot, src) : join(sourceRoot, src);
      if (!existsSync(from))
        throw new Error(`COPY ${src}: not in the ${fromStage ?? 'build context'}`);
      // A folder's contents go to the destination; a file goes into it when it names a folder.
      const target = statSync(from).isDirectory()
        ? destPath
        : dest.endsWith('/') || words.length > 1
          ? posix.join(destPath, basename(src))
          : destPath;
      mkdirSync(dirname(this.inRoot(state, target)), { recursive: true });
      cpSync(from, this.inRoot(state, target), { recursive: true });
      contentHashes.push(treeHash(from));
    }
    state.key = hash(state.key, 'COPY', args, ...contentHashes);
  }

  private run(state: StageState, command: string): boolean {
    const key = hash(state.key, 'RUN', command);
    const snapshot = this.snapshots.get(key);
    if (snapshot) {
      rmSync(state.dir, { recursive: true, force: true });
      linkCopy(snapshot, state.dir);
      state.key = key;
      return true;
    }
    const script =
      mountScript(state, false) + chrootCommand(state, 'root', ['/bin/sh', '-c', command]);
    const result = spawnSync(
      'unshare',
      ['--mount', '--propagation', 'private', 'bash', '-c', script],
      {
        encoding: 'utf8',
        maxBuffer: 256 * 1024 * 1024,
        timeout: 900_000,
      },
    );
    if (result.status !== 0) {
      throw new Error(
        `RUN ${command} failed (exit ${result.status ?? result.signal}):\n${result.stdout.slice(-4000)}${result.stderr.slice(-4000)}`,
      );
    }
    state.key = key;
    const kept = join(this.work, 'layers', key);
    linkCopy(state.dir, kept);
    this.snapshots.set(key, kept);
    return false;
  }

  private inRoot(state: StageState, path: string): string {
    return join(state.root, path);
  }
}

/**
 * The command that runs the image's ENTRYPOINT as its USER, from its WORKDIR, with the root read-only and a private
 * /tmp (as the Kubernetes manifests run it: readOnlyRootFilesystem and an emptyDir on /tmp), and nothing of the
 * caller's environment but `env`. `binds` are host folders made visible read-only at the same path, for files the
 * environment names (keys, registries), copied when the service starts. Each step execs the next, so the process
 * started is the service itself and receives its signals.
 */
export function imageCommand(
  image: ReplayedImage,
  env: Record<string, string>,
  binds: string[] = [],
): { command: string; args: string[] } {
  const state: StageState = { ...image, dir: dirname(image.root), key: '' };
  for (const path of binds) mkdirSync(join(image.root, path), { recursive: true });
  const script =
    mountScript(state, true, binds) +
    chrootCommand(state, image.user, image.entrypoint, { ...image.env, ...env });
  return {
    command: 'unshare',
    args: ['--mount', '--propagation', 'private', 'bash', '-c', script],
  };
}

/** A stage being replayed: what its image will hold, its folder, and the layer-cache key of what ran so far. */
type StageState = Omit<ReplayedImage, 'dockerfile' | 'steps'> & { dir: string; key: string };

/** The official node image's layout, over this machine's Node: node and npm under /usr/local. */
function layOutBase(state: StageState): void {
  for (const dir of ['etc', 'tmp', 'root/.npm', 'dev', 'proc', 'usr']) {
    mkdirSync(join(state.root, dir), { recursive: true });
  }
  for (const link of ['bin', 'lib', 'lib64', 'sbin'])
    symlinkSync(`usr/${link}`, join(state.root, link));
  cpSync('/etc', join(state.root, 'etc'), { recursive: true, verbatimSymlinks: true });
  mkdirSync(join(state.usrLocal, 'bin'), { recursive: true });
  mkdirSync(join(state.usrLocal, 'lib', 'node_modules'), { recursive: true });
  symlinkSync(process.execPath, join(state.usrLocal, 'bin', 'node'));
  symlinkSync(npmRoot(), join(state.usrLocal, 'lib', 'node_modules', 'npm'));
  symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(state.usrLocal, 'bin', 'npm'));
  symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(state.usrLocal, 'bin', 'npx'));
}

function npmRoot(): string {
  const root = spawnSync('npm', ['root', '-g'], { encoding: 'utf8' }).stdout.trim();
  const npm = join(root, 'npm');
  if (!existsSync(join(npm, 'bin', 'npm-cli.js'))) throw new Error(`npm not found under ${root}`);
  return npm;
}

/**
 * Mounts for a stage's root, inside the private namespace. This machine's /usr is visible read-only (its own npm
 * included, which the official image does not have: the image's npm is the one under /usr/local, which the runtime
 * stage removes and the tests check is gone).
 */
function mountScript(state: StageState, readOnly: boolean, binds: string[] = []): string {
  const r = state.root;
  const lines = [
    'set -e',
    ...(readOnly ? [`mount --bind ${q(r)} ${q(r)}`, `mount -o remount,bind,ro ${q(r)}`] : []),
    `mount --bind /usr ${q(r + '/usr')}`,
    `mount -o remount,bind,ro ${q(r + '/usr')}`,
    `mount --bind ${q(state.usrLocal)} ${q(r + '/usr/local')}`,
    ...(readOnly ? [`mount -o remount,bind,ro ${q(r + '/usr/local')}`] : []),
    `mount --rbind /dev ${q(r + '/dev')}`,
    `mount -t proc proc ${q(r + '/proc')}`,
    readOnly
      ? `mount -t tmpfs -o size=64m tmpfs ${q(r + '/tmp')}`
      : `mount --bind ${q(join(homedir(), '.npm'))} ${q(r + '/root/.npm')}`,
    // After /tmp, which would hide them. As Kubernetes projects a Secret or ConfigMap: a read-only copy made at
    // start, owned by the user the container runs as (the manifests' fsGroup).
    ...binds.flatMap((path) => [
      `mkdir -p ${q(r + path)} 2>/dev/null || true`,
      `mount -t tmpfs -o size=16m tmpfs ${q(r + path)}`,
      `cp -a ${q(path + '/.')} ${q(r + path + '/')}`,
      `chown -R ${q(state.user)} ${q(r + path)}`,
      `mount -o remount,ro ${q(r + path)}`,
    ]),
  ];
  return lines.join('\n') + '\n';
}

function chrootCommand(
  state: Pick<StageState, 'root' | 'workdir' | 'env'>,
  user: string,
  argv: string[],
  env: Record<string, string> = state.env,
): string {
  const userspec = user === 'root' ? [] : [`--userspec=${user}`];
  const withHome =
    user === 'root' ? env : { HOME: '/', ...env, ...(env.HOME === '/root' ? { HOME: '/' } : {}) };
  const assignments = Object.entries(withHome).map(([k, v]) => q(`${k}=${v}`));
  const inner = `cd ${q(state.workdir)} && exec ${argv.map(q).join(' ')}`;
  return `exec chroot ${userspec.join(' ')} ${q(state.root)} /usr/bin/env -i ${assignments.join(' ')} /bin/sh -c ${q(inner)}\n`;
}

function q(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function hash(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 32);
}

/** Content hash of a file or folder (paths and bytes), as Docker keys a COPY layer. */
function treeHash(path: string): string {
  const digest = createHash('sha256');
  const walk = (p: string, rel: string) => {
    if (statSync(p).isDirectory()) {
      for (const name of readdirSync(p).sort()) walk(join(p, name), `${rel}/${name}`);
    } else {
      digest.update(rel).update('\0').update(readFileSync(p));
    }
  };
  walk(path, '');
  return digest.digest('hex');
}

/** A copy that shares file contents (hard links): a snapshot costs seconds, not the size of node_modules. */
function linkCopy(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true });
  const result = spawnSync('cp', ['-a', '--link', from, to], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`cp -al ${from} ${to}: ${result.stderr}`);
}
