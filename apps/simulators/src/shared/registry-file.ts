import { writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import { stringify } from 'yaml';

/** The store of the `index`-th terminal when a fleet is spread over `stores` stores: store-001, store-002, … */
export function storeIdFor(index: number, stores: number): string {
  return `store-${String((index % stores) + 1).padStart(3, '0')}`;
}

/**
 * Writes the terminal registry device-health seeds from (TERMINALS_FILE): `{terminals: [...]}` as JSON for a
 * `.json` path, YAML otherwise. Says so on stdout, in the simulator's name.
 */
export function writeRegistryFile(
  path: string,
  terminals: readonly object[],
  simulator: string,
): void {
  const document = { terminals };
  writeFileSync(
    path,
    extname(path) === '.json' ? JSON.stringify(document, null, 2) : stringify(document),
  );
  process.stdout.write(`${simulator}: wrote ${terminals.length} registry entries to ${path}\n`);
}
