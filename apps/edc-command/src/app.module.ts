import type { DynamicModule } from '@nestjs/common';
import {
  EVENT_SUBJECTS,
  MessagingModule,
  messagingOptionsFromConfig,
  STREAMS,
  streamDefaults,
} from '@tillbus/messaging';
import { ObservabilityModule } from '@tillbus/observability';
import {
  KICC_BRIDGE_DUPLICATE_WINDOW_MS,
  KICC_BRIDGE_RETENTION_MS,
  KICC_BRIDGE_STREAM,
  KICC_BRIDGE_SUBJECT_WILDCARDS,
} from '@tillbus/protocols-kicc';
import { CLOCK, SystemClock, type Clock } from './clock';
import type { EdcCommandConfig } from './config';
import { EdcController } from './edc.controller';
import { CommandEngine, EDC_CONFIG } from './engine';
import { BUCKETS } from './keys';
import { EdcMetrics } from './metrics';

export const SERVICE_NAME = 'edc-command';

export interface EdcCommandModuleOptions {
  config: EdcCommandConfig;
  /** Tests pass a ShiftableClock; production uses the system clock. */
  clock?: Clock;
  /** Tests capture log lines. */
  logWrite?: (line: string) => void;
}

const MS_TO_NS = 1_000_000;

export function edcCommandModule({
  config,
  clock,
  logWrite,
}: EdcCommandModuleOptions): DynamicModule {
  const replicas = config.STREAM_REPLICAS;
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
        messagingOptionsFromConfig(SERVICE_NAME, config, {
          streams: [
            {
              ...streamDefaults(STREAMS.edc, [EVENT_SUBJECTS.edcAll], replicas),
              max_age: config.EDC_RECORD_TTL_MS * MS_TO_NS,
            },
            {
              ...streamDefaults(
                KICC_BRIDGE_STREAM,
                [KICC_BRIDGE_SUBJECT_WILDCARDS.events],
                replicas,
              ),
              max_age: KICC_BRIDGE_RETENTION_MS * MS_TO_NS,
              duplicate_window: KICC_BRIDGE_DUPLICATE_WINDOW_MS * MS_TO_NS,
            },
          ],
          buckets: [
            { name: BUCKETS.commands, ttlMs: config.EDC_RECORD_TTL_MS },
            { name: BUCKETS.devices, ttlMs: 30 * 86_400_000 },
            { name: BUCKETS.owners, ttlMs: config.EDC_OWNER_LEASE_MS },
            { name: BUCKETS.inDoubt, ttlMs: config.EDC_RECORD_TTL_MS },
          ],
        }),
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
