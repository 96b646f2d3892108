import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { storeIdFor, writeRegistryFile } from './registry-file';

const dir = mkdtempSync(join(tmpdir(), 'tillbus-sim-registry-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

describe('storeIdFor', () => {
  it.each([
    [0, 1, 'store-001'],
    [5, 1, 'store-001'],
    [0, 3, 'store-001'],
    [1, 3, 'store-002'],
    [3, 3, 'store-001'],
    [11, 12, 'store-012'],
    [999, 1000, 'store-1000'],
  ])('terminal %d of a fleet over %d stores is in %s', (index, stores, storeId) => {
    expect(storeIdFor(index, stores)).toBe(storeId);
  });
});

describe('writeRegistryFile', () => {
  const terminals = [
    { terminalId: 'sim-1', vendor: 'antom', connection: { kind: 'antom' } },
    { terminalId: 'sim-2', vendor: 'antom', connection: { kind: 'antom' } },
  ];

  it.each(['terminals.yaml', 'terminals.yml', 'terminals.json'])(
    'writes %s as {terminals} and says so',
    (name) => {
      const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
      const path = join(dir, name);
      writeRegistryFile(path, terminals, 'antom-fleet');
      const text = readFileSync(path, 'utf8');
      expect(name.endsWith('.json') ? JSON.parse(text) : parse(text)).toEqual({ terminals });
      if (name.endsWith('.json')) expect(text).toBe(JSON.stringify({ terminals }, null, 2));
      expect(write).toHaveBeenCalledWith(`antom-fleet: wrote 2 registry entries to ${path}\n`);
    },
  );
});
