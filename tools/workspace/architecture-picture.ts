// The layer picture in docs/architecture.md is a Mermaid flowchart: one subgraph per `type:*` tag holding its
// projects, and one edge per project dependency. It is derived from Nx's project graph, so the doc cannot drift.

export interface WorkspaceProject {
  name: string;
  layer: string;
}

export interface ArchitecturePicture {
  layers: Map<string, Set<string>>;
  edges: Set<string>;
}

const SCOPE = '@tillbus/';
const LAYER_ORDER = [
  'app',
  'runtime',
  'platform',
  'testing',
  'protocol',
  'contract',
  'validation',
  'codes',
];

export const shortName = (project: string) =>
  project.startsWith(SCOPE) ? project.slice(SCOPE.length) : project;

export function pictureOfGraph(
  projects: WorkspaceProject[],
  dependencies: Array<[source: string, target: string]>,
): ArchitecturePicture {
  const layers = new Map<string, Set<string>>();
  for (const { name, layer } of projects) {
    layers.set(layer, (layers.get(layer) ?? new Set()).add(shortName(name)));
  }
  const known = new Set(projects.map((p) => p.name));
  const edges = new Set(
    dependencies
      .filter(([source, target]) => known.has(source) && known.has(target) && source !== target)
      .map(([source, target]) => `${shortName(source)} --> ${shortName(target)}`),
  );
  return { layers, edges };
}

export function renderPicture({ layers, edges }: ArchitecturePicture): string {
  const layerNames = [...layers.keys()].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const lines = ['```mermaid', 'flowchart TD'];
  for (const layer of layerNames) {
    lines.push(`  subgraph ${layer}`);
    for (const project of [...(layers.get(layer) ?? [])].sort()) lines.push(`    ${project}`);
    lines.push('  end');
  }
  for (const edge of [...edges].sort()) lines.push(`  ${edge}`);
  lines.push('```');
  return lines.join('\n');
}

/** Reads the first Mermaid block of a Markdown document back into layers and edges. */
export function readPicture(markdown: string): ArchitecturePicture | undefined {
  const block = /```mermaid\n([\s\S]*?)```/.exec(markdown)?.[1];
  if (block === undefined) return undefined;
  const layers = new Map<string, Set<string>>();
  const edges = new Set<string>();
  let layer: string | undefined;
  for (const raw of block.split('\n')) {
    const line = raw.trim();
    const subgraph = /^subgraph\s+(\S+)/.exec(line);
    const edge = /^(\S+)\s*-->\s*(\S+)$/.exec(line);
    if (subgraph) {
      layer = subgraph[1];
      layers.set(layer, new Set());
    } else if (line === 'end') {
      layer = undefined;
    } else if (edge) {
      edges.add(`${edge[1]} --> ${edge[2]}`);
    } else if (layer && /^[\w-]+$/.test(line)) {
      layers.get(layer)?.add(line);
    }
  }
  return { layers, edges };
}

function rank(layer: string): number {
  const index = LAYER_ORDER.indexOf(layer);
  return index === -1 ? LAYER_ORDER.length : index;
}
