import { hostname } from 'node:os';
import type { DynamicModule } from '@nestjs/common';
import {
  CLOCK,
  type Clock,
  messagingOptionsFromConfig,
  serviceProvisioning,
  systemClock,
} from '@tillbus/messaging';
import {
  MessagingModule,
  ObservabilityModule,
  type RunningService,
  startService,
} from '@tillbus/runtime';
import { AdyenAdapter } from './vendor/adyen.adapter';
import { AntomAdapter } from './vendor/antom.adapter';
import { SecretStore } from './vendor/secret-store';
import { ServiceIdAllocator } from './vendor/service-ids';
import { DeviceHealthController } from './bus/device-health.controller';
import { DiagnoseRouter } from './bus/diagnose-router';
import { VENDOR_DIAGNOSE_CONTROLLERS } from './bus/vendor-diagnose.controller';
import {
  loadDeviceHealthConfig,
  type DeviceHealthConfig,
  DEVICE_HEALTH_CONFIG,
  REPLICA_ID,
  SECRET_ENV,
  SEED_TERMINALS,
} from './config';
import { DiagnosisService } from './diagnosis/diagnosis.service';
import { HealthStore } from './diagnosis/health-store.service';
import { DeviceHealthMetrics } from './metrics';
import { PollerService } from './polling/poller.service';
import { RegistryService } from './registry/registry.service';
import { RegistrySeeder } from './registry/registry-seeder';
import { readSeedFile } from './registry/seed';
import type { TerminalDto } from './registry/terminal.dto';

export const SERVICE_NAME = 'device-health';

export interface DeviceHealthOptions {
  clock?: Clock;
  /** Where secret references are resolved; process.env by default. */
  secretEnv?: Record<string, string | undefined>;
  /** Tests capture log lines through this. */
  logWrite?: (line: string) => void;
}

export function deviceHealthModule(
  config: DeviceHealthConfig,
  options: DeviceHealthOptions & { seed?: TerminalDto[] } = {},
): DynamicModule {
  const replica = config.REPLICA_ID ?? `${hostname()}-${process.pid}`;
  return {
    module: class DeviceHealthModule {},
    imports: [
      ObservabilityModule.forRoot({
        service: SERVICE_NAME,
        opsPort: config.OPS_PORT,
        opsHost: config.OPS_HOST,
        logLevel: config.LOG_LEVEL,
        logWrite: options.logWrite,
      }),
      MessagingModule.forRoot(
        messagingOptionsFromConfig(SERVICE_NAME, config, serviceProvisioning(SERVICE_NAME, config)),
      ),
    ],
    // The per-vendor diagnose subjects are subscribed only for the vendors this deployment serves.
    controllers: [
      DeviceHealthController,
      ...config.DEVICE_HEALTH_VENDORS.map((vendor) => VENDOR_DIAGNOSE_CONTROLLERS[vendor]),
    ],
    providers: [
      { provide: DEVICE_HEALTH_CONFIG, useValue: config },
      { provide: CLOCK, useValue: options.clock ?? systemClock },
      { provide: SECRET_ENV, useValue: options.secretEnv ?? process.env },
      { provide: REPLICA_ID, useValue: replica },
      { provide: SEED_TERMINALS, useValue: options.seed ?? [] },
      DeviceHealthMetrics,
      SecretStore,
      RegistryService,
      RegistrySeeder,
      HealthStore,
      ServiceIdAllocator,
      AntomAdapter,
      AdyenAdapter,
      DiagnosisService,
      DiagnoseRouter,
      PollerService,
    ],
  };
}

/** Starts one replica from the environment (tests start replicas in-process this way). */
export function startDeviceHealth(
  env: Record<string, string | undefined> = process.env,
  options: DeviceHealthOptions = {},
): Promise<RunningService & { config: DeviceHealthConfig }> {
  return startDeviceHealthFromConfig(loadDeviceHealthConfig(env), options);
}

/** Starts one replica from a loaded configuration (main.ts). */
export async function startDeviceHealthFromConfig(
  config: DeviceHealthConfig,
  options: DeviceHealthOptions = {},
): Promise<RunningService & { config: DeviceHealthConfig }> {
  // A bad seed file stops the boot before anything connects, with every problem named.
  const seed = config.TERMINALS_FILE ? readSeedFile(config.TERMINALS_FILE) : undefined;
  const running = await startService({ module: deviceHealthModule(config, { ...options, seed }) });
  return { ...running, config };
}
