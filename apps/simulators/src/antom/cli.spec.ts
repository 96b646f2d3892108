import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { ANTOM_PATHS, signRequest, verifyResponse } from '@tillbus/protocols-antom';
import { main } from './cli';

const dir = mkdtempSync(join(tmpdir(), 'tillbus-antom-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('antom-fleet CLI', () => {
  it('prints its options with --help', async () => {
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    await main(['--help'], Promise.resolve());
    expect(String(write.mock.calls[0][0])).toMatch(/--terminals <n>/);
    write.mockRestore();
  });

  it('starts a fleet with faults from a file, writes a registry and closes when told to', async () => {
    const registry = join(dir, 'terminals.yaml');
    const faults = join(dir, 'faults.json');
    writeFileSync(faults, JSON.stringify({ CLI000002: { networkDown: true } }));
    let release!: () => void;
    const stop = new Promise<void>((r) => (release = r));
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const running = main(
      [
        '--terminals',
        '3',
        '--serial-prefix',
        'CLI',
        '--port',
        '0',
        '--keys-dir',
        join(dir, 'keys'),
        '--faults',
        faults,
        '--registry',
        registry,
        '--stores',
        '2',
      ],
      stop,
    );
    try {
      await expect.poll(() => existsSync(registry), { timeout: 5000 }).toBe(true);
      const entries = parse(readFileSync(registry, 'utf8')).terminals;
      expect(entries).toHaveLength(3);
      expect(entries[1]).toMatchObject({
        terminalId: 'antom-CLI000002',
        vendor: 'antom',
        vendorId: 'CLI000002',
        storeId: 'store-002',
        connection: {
          kind: 'antom',
          privateKeyRef: `file:${join(dir, 'keys', 'pos-private.pem')}`,
        },
      });
      const { baseUrl } = entries[1].connection;
      const privateKey = readFileSync(join(dir, 'keys', 'pos-private.pem'), 'utf8');
      const headers = signRequest({
        path: ANTOM_PATHS.DIAGNOSIS,
        clientId: 'CLI000002',
        body: '{}',
        privateKey,
      });
      const response = await fetch(`${baseUrl}${ANTOM_PATHS.DIAGNOSIS}`, {
        method: 'POST',
        headers,
        body: '{}',
      });
      const text = await response.text();
      expect(JSON.parse(text)).toMatchObject({
        networkStatus: 'N',
        result: { resultCode: 'SUCCESS' },
      });
      const verified = await verifyResponse({
        path: ANTOM_PATHS.DIAGNOSIS,
        headers: response.headers,
        rawBody: text,
        publicKey: readFileSync(join(dir, 'keys', 'terminal-public.pem'), 'utf8'),
        now: Date.now(),
        clientId: 'CLI000002',
      });
      expect(verified.ok).toBe(true);
    } finally {
      release();
      await running;
      write.mockRestore();
    }
  });

  it('refuses a bad fault file naming the terminal and field', async () => {
    const faults = join(dir, 'bad.json');
    writeFileSync(faults, JSON.stringify({ CLI000001: { lowBattery: true } }));
    await expect(
      main(['--port', '0', '--keys-dir', join(dir, 'keys'), '--faults', faults], Promise.resolve()),
    ).rejects.toThrow(/CLI000001.lowBattery: an Antom diagnosis reports no battery level/);
  });
});
