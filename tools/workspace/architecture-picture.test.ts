import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createProjectGraphAsync, type ProjectGraph } from '@nx/devkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { pictureOfGraph, readPicture, renderPicture } from './architecture-picture';

const ROOT = join(__dirname, '../..');
const DOC = join(ROOT, 'docs/architecture.md');

function layerOf(tags: string[] | undefined): string {
  return tags?.find((tag) => tag.startsWith('type:'))?.slice('type:'.length) ?? 'untagged';
}

describe('docs/architecture.md: the layer picture is the Nx project graph', () => {
  let graph: ProjectGraph;
  beforeAll(async () => {
    process.env.NX_DAEMON = 'false';
    process.env.NX_NO_CLOUD = 'true';
    graph = await createProjectGraphAsync({ exitOnError: false });
  }, 120_000);

  const actual = () =>
    pictureOfGraph(
      Object.values(graph.nodes)
        .filter((node) => node.name !== 'tillbus')
        .map((node) => ({ name: node.name, layer: layerOf(node.data.tags) })),
      Object.entries(graph.dependencies).flatMap(([source, deps]) =>
        deps.map((dep) => [source, dep.target] as [string, string]),
      ),
    );

  it('shows every project in its layer and every dependency between projects, and nothing else', () => {
    const documented = readPicture(readFileSync(DOC, 'utf8'));
    const expected = actual();
    // On a mismatch the message carries the block to paste into the doc.
    const hint = `\nexpected picture:\n${renderPicture(expected)}\n`;
    expect(documented, hint).toBeDefined();
    expect([...(documented?.edges ?? [])].sort(), hint).toEqual([...expected.edges].sort());
    const asObject = (layers: Map<string, Set<string>>) =>
      Object.fromEntries([...layers].map(([layer, projects]) => [layer, [...projects].sort()]));
    expect(asObject(documented?.layers ?? new Map()), hint).toEqual(asObject(expected.layers));
  });

  it('reads back what it renders', () => {
    const picture = actual();
    expect(readPicture(renderPicture(picture))).toEqual(picture);
  });
});
