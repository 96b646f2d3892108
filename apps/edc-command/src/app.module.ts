import type { DynamicModule } from '@nestjs/common';
import { messagingOptionsFromConfig, serviceProvisioning } from '@tillbus/messaging';
import { MessagingModule, ObservabilityModule } from '@tillbus/runtime';
import { CLOCK, SystemClock, type Clock } from './clock';
import type { EdcCommandConfig } from './config';
import { EdcController } from './edc.controller';
import { CommandEngine, EDC_CONFIG } from './engine';
import { EdcMetrics } from './metrics';

export const SERVICE_NAME = 'edc-command';

export interface EdcCommandModuleOptions {
  config: EdcCommandConfig;
  /** Tests pass a ShiftableClock; production uses the system clock. */
  clock?: Clock;
  /** Tests capture log lines. */
  logWrite?: (line: string) => void;
}

export function edcCommandModule({
  config,
  clock,
  logWrite,
}: EdcCommandModuleOptions): DynamicModule {
  return {
    module: class EdcCommandModule {},
    imports: [
      ObservabilityModule.forRoot({
        service: SERVICE_NAME,
        opsPort: config.OPS_PORT,
        logLevel: config.LOG_LEVEL,
        logWrite,
      }),
      MessagingModule.forRoot(
        messagingOptionsFromConfig(SERVICE_NAME, config, serviceProvisioning(SERVICE_NAME, config)),
      ),
    ],
    controllers: [EdcController],
    providers: [
      { provide: EDC_CONFIG, useValue: config },
      { provide: CLOCK, useValue: clock ?? new SystemClock() },
      EdcMetrics,
      CommandEngine,
    ],
  };
}
