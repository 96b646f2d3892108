import Client from '@adyen/api-library/lib/src/client';
import Config, { EnvironmentEnum } from '@adyen/api-library/lib/src/config';
import TerminalLocalAPI from '@adyen/api-library/lib/src/services/terminalLocalAPI';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { buildDiagnosisRequest, parseDiagnosisResponse } from '@tillbus/protocols-adyen';
import { main } from './cli';

const dir = mkdtempSync(join(tmpdir(), 'tillbus-adyen-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('adyen-fleet CLI', () => {
  it('prints its options with --help', async () => {
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    await main(['--help'], Promise.resolve());
    expect(String(write.mock.calls[0][0])).toMatch(/--mobile <n>/);
    write.mockRestore();
  });

  it('starts a fleet, writes a registry whose secrets are file references, and closes when told to', async () => {
    const registry = join(dir, 'terminals.json');
    let release!: () => void;
    const stop = new Promise<void>((r) => (release = r));
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const running = main(
      [
        '--terminals',
        '2',
        '--mobile',
        '1',
        '--port',
        '0',
        '--keys-dir',
        join(dir, 'keys'),
        '--registry',
        registry,
      ],
      stop,
    );
    try {
      await expect.poll(() => existsSync(registry), { timeout: 10_000 }).toBe(true);
      const { terminals } = JSON.parse(readFileSync(registry, 'utf8'));
      expect(terminals).toHaveLength(3);
      expect(terminals[2].terminalId).toBe('adyen-00000000-0000-4000-8000-000000000001_1');
      const { connection, vendorId } = terminals[0];
      expect(connection).toMatchObject({
        kind: 'adyen-local',
        keyIdentifier: 'tillbussim',
        keyVersion: 1,
      });
      expect(JSON.stringify(terminals)).not.toContain(
        readFileSync(join(dir, 'keys', 'passphrase'), 'utf8'),
      );
      const api = new TerminalLocalAPI(
        new Client(
          new Config({
            environment: EnvironmentEnum.TEST,
            apiKey: 'local',
            certificatePath: join(dir, 'keys', 'cert.pem'),
            terminalApiLocalEndpoint: `${connection.url}#`,
          }),
        ),
      );
      const response = await api.request(
        buildDiagnosisRequest({
          saleId: 'cli',
          poiId: vendorId,
          serviceId: 'C1',
          hostDiagnosis: false,
        }),
        {
          AdyenCryptoVersion: 1,
          KeyIdentifier: connection.keyIdentifier,
          KeyVersion: connection.keyVersion,
          Passphrase: readFileSync(connection.passphraseRef.slice('file:'.length), 'utf8'),
        },
      );
      expect(parseDiagnosisResponse(response).kind).toBe('ok');
    } finally {
      release();
      await running;
      write.mockRestore();
    }
  });
});
