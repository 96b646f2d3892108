import {
  Global,
  Injectable,
  Module,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { Registry } from 'prom-client';
import {
  createMetricsRegistry,
  JsonLogger,
  OpsServer,
  type JsonLogLevel,
} from '@tillbus/observability';

export interface ObservabilityOptions {
  service: string;
  opsPort: number;
  /** OPS_HOST: the address the ops server listens on (default 0.0.0.0). */
  opsHost?: string;
  logLevel?: JsonLogLevel;
  /** Tests capture log lines through this. */
  logWrite?: (line: string) => void;
}

export const OBSERVABILITY_OPTIONS = Symbol('OBSERVABILITY_OPTIONS');

/** Starts the ops server once the app is up, and turns /readyz red before shutdown begins. */
@Injectable()
class OpsServerLifecycle
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  constructor(
    private readonly ops: OpsServer,
    private readonly logger: JsonLogger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const port = await this.ops.start();
    this.logger.event('info', 'ops server listening', {
      port,
      host: this.ops.host,
      paths: ['/metrics', '/healthz', '/readyz'],
    });
  }

  beforeApplicationShutdown(): void {
    this.ops.markShuttingDown();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.ops.stop();
  }
}

@Global()
@Module({})
export class ObservabilityModule {
  static forRoot(options: ObservabilityOptions): DynamicModule {
    return {
      module: ObservabilityModule,
      providers: [
        { provide: OBSERVABILITY_OPTIONS, useValue: options },
        { provide: Registry, useFactory: createMetricsRegistry },
        {
          provide: JsonLogger,
          useFactory: () =>
            new JsonLogger({
              service: options.service,
              level: options.logLevel,
              write: options.logWrite,
            }),
        },
        {
          provide: OpsServer,
          inject: [Registry],
          useFactory: (registry: Registry) =>
            new OpsServer({ port: options.opsPort, host: options.opsHost, registry }),
        },
        OpsServerLifecycle,
      ],
      exports: [OBSERVABILITY_OPTIONS, Registry, JsonLogger, OpsServer],
    };
  }
}
