import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '../../..');
const SRC = join(ROOT, 'apps/cli/src');

/**
 * Loads the CLI from source in a fresh Node with a hook that records every module it loads: first what `--help`
 * loads, then every command module and what the bus loads lazily when it first talks to NATS.
 */
function loadedModules(): { help: string[]; all: string[]; stdout: string } {
  const commands = readdirSync(join(SRC, 'commands'))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'))
    .map((f) => join(SRC, 'commands', f));
  const script = `
    const Module = require('node:module');
    const seen = new Set();
    const load = Module._load;
    Module._load = function (request, parent, isMain) {
      try { seen.add(Module._resolveFilename(request, parent, isMain)); } catch {}
      return load.apply(this, arguments);
    };
    process.argv = [process.argv[0], 'tillbus', '--help'];
    require(${JSON.stringify(join(SRC, 'main.ts'))});
    const help = [...seen];
    for (const file of ${JSON.stringify([...commands, join(SRC, 'bus.ts')])}) require(file);
    // what CliBus imports on first use
    for (const lazy of ['@nats-io/transport-node', '@nats-io/jetstream', '@tillbus/messaging/request']) require(lazy);
    process.stderr.write(JSON.stringify({ help, all: [...seen] }));
    process.exit(0);
  `;
  const run = spawnSync(
    process.execPath,
    ['--conditions=tillbus-source', '-r', require.resolve('@swc-node/register'), '-e', script],
    {
      cwd: ROOT,
      env: { ...process.env, TS_NODE_PROJECT: join(ROOT, 'tsconfig.json') },
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  const json = run.stderr.slice(run.stderr.lastIndexOf('{"help"'));
  if (run.status !== 0 || !json.startsWith('{')) {
    throw new Error(`loading the CLI failed (${run.status}):\n${run.stderr}`);
  }
  return { ...(JSON.parse(json) as { help: string[]; all: string[] }), stdout: run.stdout };
}

// Issue 16 §4: the CLI loaded Nest and the whole messaging stack to send one NATS request.
describe('the CLI loads the bus contract and the NATS client, nothing more', () => {
  const graph = loadedModules();

  it('prints its help', () => {
    expect(graph.stdout).toContain('tillbus: the operator CLI for tillbus');
  });

  it('has no @nestjs/*, no class-validator and no metrics anywhere in its module graph', () => {
    expect(graph.all.length).toBeGreaterThan(20);
    expect(
      graph.all.filter(
        (file) =>
          file.includes('@tillbus/messaging/request') ||
          file.endsWith('libs/messaging/src/request.ts'),
      ),
    ).toHaveLength(1);
    for (const heavy of [
      '/@nestjs/',
      '/class-validator/',
      '/prom-client/',
      '/rxjs/',
      '/libs/observability/',
    ]) {
      expect(graph.all.filter((file) => file.includes(heavy))).toEqual([]);
    }
    expect(graph.all.some((file) => file.includes('/@nats-io/transport-node/'))).toBe(true);
  });

  it('answers --help without loading the NATS client', () => {
    expect(graph.help.filter((file) => file.includes('/@nats-io/'))).toEqual([]);
    expect(graph.help.filter((file) => file.includes('/@nestjs/'))).toEqual([]);
  });
});
