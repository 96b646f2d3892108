import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { runStartupStep } from '@tillbus/messaging';
import { JsonLogger, OpsServer } from '@tillbus/observability';
import { type DeviceHealthConfig, DEVICE_HEALTH_CONFIG, SEED_TERMINALS } from '../config';
import { RegistryService } from './registry.service';
import type { TerminalDto } from './terminal.dto';

/**
 * Seeds the registry from TERMINALS_FILE (parsed and validated before the app started). Each batch is a startup step:
 * a bucket whose stream has no leader yet (a cluster still electing) is waited for, never a reason to exit.
 */
@Injectable()
export class RegistrySeeder implements OnApplicationBootstrap {
  constructor(
    private readonly registry: RegistryService,
    @Inject(DEVICE_HEALTH_CONFIG) private readonly config: DeviceHealthConfig,
    @Inject(SEED_TERMINALS) private readonly terminals: TerminalDto[],
    private readonly logger: JsonLogger,
    private readonly ops: OpsServer,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.terminals.length === 0) return;
    const mode = this.config.TERMINALS_FILE_MODE;
    let written = 0;
    // Bounded parallelism: a fleet of thousands is seeded in seconds without flooding NATS.
    for (let i = 0; i < this.terminals.length; i += 64) {
      const batch = this.terminals.slice(i, i + 64);
      const results = await runStartupStep(
        'seed',
        'terminal registry',
        () => Promise.all(batch.map((t) => this.registry.upsert(t, mode))),
        { logger: this.logger, ops: this.ops },
      );
      written += results.filter((r) => r.written).length;
    }
    this.logger.event('info', 'seeded the terminal registry', {
      path: this.config.TERMINALS_FILE,
      terminals: this.terminals.length,
      written,
      mode,
    });
  }
}
