import type { JsonLogger, OpsServer } from '@tillbus/observability';
import { describe, expect, it } from 'vitest';
import type { DeviceHealthConfig } from '../config';
import { RegistrySeeder } from './registry-seeder';
import type { RegistryService } from './registry.service';
import type { TerminalDto } from './terminal.dto';

describe('RegistrySeeder', () => {
  // A cold start against a cluster still electing: device-health exited 1 on `timeout` right after provisioning
  // verified (cluster tier, 1 of 5 runs); the seed's registry writes are the first JetStream calls of its boot after
  // that which nothing waited for.
  it('waits while the registry bucket cannot answer yet, and seeds it once it can', async () => {
    let attempts = 0;
    const written: string[] = [];
    const reports: string[] = [];
    const registry = {
      upsert: async (dto: TerminalDto) => {
        if (++attempts === 1) throw new Error('timeout');
        written.push(dto.terminalId);
        return { terminal: dto, created: true, written: true };
      },
    } as unknown as RegistryService;
    const seeder = new RegistrySeeder(
      registry,
      { TERMINALS_FILE_MODE: 'create', TERMINALS_FILE: 'seed.json' } as DeviceHealthConfig,
      [{ terminalId: 't-1' } as TerminalDto],
      { event: () => undefined } as unknown as JsonLogger,
      { reportStartup: (detail: string) => reports.push(detail) } as unknown as OpsServer,
    );
    await expect(seeder.onApplicationBootstrap()).resolves.toBeUndefined();
    expect(written).toEqual(['t-1']);
    expect(reports).toContain(
      'seed terminal registry: attempt 1 failed (timeout); retrying in 250 ms',
    );
  });
});
