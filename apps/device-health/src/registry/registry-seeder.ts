import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { JsonLogger } from '@tillbus/observability';
import type { DeviceHealthConfig } from '../config';
import { DEVICE_HEALTH_CONFIG } from '../tokens';
import { RegistryService } from './registry.service';
import { readSeedFile } from './seed';

/** Seeds the registry from TERMINALS_FILE at boot; a bad file stops the boot with every problem named. */
@Injectable()
export class RegistrySeeder implements OnApplicationBootstrap {
  constructor(
    private readonly registry: RegistryService,
    @Inject(DEVICE_HEALTH_CONFIG) private readonly config: DeviceHealthConfig,
    private readonly logger: JsonLogger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const path = this.config.TERMINALS_FILE;
    if (!path) return;
    const terminals = readSeedFile(path);
    let written = 0;
    const mode = this.config.TERMINALS_FILE_MODE;
    // Bounded parallelism: a fleet of thousands is seeded in seconds without flooding NATS.
    for (let i = 0; i < terminals.length; i += 64) {
      const results = await Promise.all(
        terminals.slice(i, i + 64).map((t) => this.registry.upsert(t, mode)),
      );
      written += results.filter((r) => r.written).length;
    }
    this.logger.event('info', 'seeded the terminal registry', {
      path,
      terminals: terminals.length,
      written,
      mode,
    });
  }
}
