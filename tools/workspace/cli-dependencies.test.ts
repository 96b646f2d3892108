import { createProjectGraphAsync, type ProjectGraph } from '@nx/devkit';
import { beforeAll, describe, expect, it } from 'vitest';

// The CLI only sends NATS requests: it depends on the bus contract and the NATS client, never on Nest (which would
// cost its start time). Nx's graph of the CLI, followed through every workspace lib it reaches, says what it loads.
describe('the CLI’s dependency graph', () => {
  let graph: ProjectGraph;
  beforeAll(async () => {
    process.env.NX_DAEMON = 'false';
    process.env.NX_NO_CLOUD = 'true';
    graph = await createProjectGraphAsync({ exitOnError: false });
  }, 120_000);

  const reachableFrom = (start: string) => {
    const seen = new Map<string, string>();
    const stack = [start];
    while (stack.length > 0) {
      const project = stack.pop() as string;
      for (const { target } of graph.dependencies[project] ?? []) {
        if (target !== start && !seen.has(target)) {
          seen.set(target, project);
          stack.push(target);
        }
      }
    }
    return seen;
  };

  it('reaches no @nestjs package and no runtime lib, through any lib', () => {
    const reached = reachableFrom('@tillbus/cli');
    const offending = [...reached]
      .filter(([node]) => node.startsWith('npm:@nestjs/') || node === '@tillbus/runtime')
      .map(([node, via]) => `${node} (via ${via})`);
    expect(offending).toEqual([]);
    expect(reached.has('@tillbus/contracts')).toBe(true);
    expect(reached.has('npm:@nats-io/transport-node')).toBe(true);
  });

  it('would be caught: a service app does reach Nest', () => {
    expect([...reachableFrom('@tillbus/edc-command').keys()]).toContain('npm:@nestjs/core');
  });
});
