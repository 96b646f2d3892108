import 'reflect-metadata';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { SecretResolver } from '@tillbus/config';
import {
  CLOCK,
  type Clock,
  createClock,
  messagingOptionsFromConfig,
  NatsConnectionManager,
  serviceProvisioning,
} from '@tillbus/messaging';
import {
  JetStreamSetup,
  MessagingModule,
  ObservabilityModule,
  type RunningService,
  startService,
} from '@tillbus/runtime';
import { JsonLogger, OpsServer } from '@tillbus/observability';
import { Registry } from 'prom-client';
import type { EasyCardSessionConfig } from './config';
import { IntellaClient } from './vendor/intella-client';
import { KeyBox } from './sessions/key-box';
import { parseMerchantEntries, resolveMerchants } from './vendor/merchants';
import { Scheduler } from './sessions/scheduler';
import { SessionController } from './bus/session.controller';
import { SessionEvents } from './sessions/session-events';
import { SessionMetrics } from './metrics';
import { keyCheck } from './sessions/session-record';
import { KeyReleaseService } from './sessions/key-release.service';
import { ReaderRegistrationService } from './sessions/reader-registration.service';
import { SessionKeyMaterial } from './sessions/session-key-material';
import { SessionMaintenanceService } from './sessions/session-maintenance.service';
import type { SessionRuntime } from './sessions/session-runtime';
import { SettlementService } from './sessions/settlement.service';
import { SignOnService } from './sessions/sign-on.service';
import { SCHEDULE_BUCKET, SESSIONS_BUCKET, SessionStore } from './sessions/session-store';
import { settlementWindow } from './sessions/settlement-window';

export const SERVICE_NAME = 'easycard-session';
const EASYCARD_CONFIG = Symbol('EASYCARD_CONFIG');

/** What tests (and demos) may replace: the clock, the log sink, where secrets come from. */
export interface EasyCardSessionDeps {
  clock?: Clock;
  logWrite?: (line: string) => void;
  secrets?: SecretResolver;
  fetch?: typeof fetch;
  replicaId?: string;
}

/** Resolves every secret and checks it before anything connects: a bad configuration stops the boot. */
export function buildRuntime(
  config: EasyCardSessionConfig,
  deps: EasyCardSessionDeps = {},
): SessionRuntime {
  const secrets = deps.secrets ?? new SecretResolver();
  const merchants = resolveMerchants(parseMerchantEntries(config.INTELLA_MERCHANTS), secrets);
  const keyBox = KeyBox.fromSecrets(
    secrets,
    config.EASYCARD_KEY_ENCRYPTION_KEY,
    config.EASYCARD_KEY_ENCRYPTION_KEY_PREVIOUS,
  );
  return {
    clock:
      deps.clock ??
      createClock({
        rate: config.EASYCARD_CLOCK_RATE,
        epochMs: config.EASYCARD_CLOCK_EPOCH_MS,
        offsetFile: config.EASYCARD_CLOCK_OFFSET_FILE,
      }),
    merchants,
    keyBox,
    replicaId: deps.replicaId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    discoveryIntervalMs: config.EASYCARD_DISCOVERY_INTERVAL_MS,
    deviceListField: config.INTELLA_DEVICE_LIST_FIELD,
    deviceListIdField: config.INTELLA_DEVICE_LIST_ID_FIELD,
    policy: {
      renewalMarginMs: config.EASYCARD_RENEWAL_MARGIN_MS,
      expiringNoticeMs: config.EASYCARD_EXPIRING_NOTICE_MS,
      leaseMs: config.EASYCARD_LEASE_MS,
      machine: {
        backoffBaseMs: config.EASYCARD_BACKOFF_BASE_MS,
        backoffFactor: config.EASYCARD_BACKOFF_FACTOR,
        backoffMaxMs: config.EASYCARD_BACKOFF_MAX_MS,
      },
      settlementEnabled: config.EASYCARD_SETTLEMENT_ENABLED,
      window: settlementWindow(
        config.EASYCARD_SETTLEMENT_TIME,
        config.EASYCARD_CLOSING_TIME,
        config.EASYCARD_UTC_OFFSET_MINUTES,
      ),
    },
  };
}

/** Loads the sessions before ticking starts, and lets in-flight attempts finish on shutdown. */
@Injectable()
class EasyCardLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    private readonly store: SessionStore,
    private readonly scheduler: Scheduler,
    private readonly logger: JsonLogger,
    @Inject(EASYCARD_CONFIG) private readonly config: EasyCardSessionConfig,
    ops: OpsServer,
  ) {
    ops.addReadinessCheck({
      name: 'sessions',
      check: () =>
        this.store.isPrimed()
          ? { ok: true }
          : { ok: false, detail: 'the EasyCard sessions are not loaded from KV yet' },
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.store.start();
    this.scheduler.start();
    this.logger.event('info', 'easycard-session started', {
      sessions: this.store.cached().length,
      tickMs: this.config.EASYCARD_TICK_MS,
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.scheduler.stop(this.config.SHUTDOWN_GRACE_MS);
    this.store.stop();
  }
}

export function easyCardSessionModule(
  config: EasyCardSessionConfig,
  runtime: SessionRuntime,
  deps: EasyCardSessionDeps = {},
): DynamicModule {
  return {
    module: class EasyCardSessionModule {},
    imports: [
      ObservabilityModule.forRoot({
        service: SERVICE_NAME,
        opsPort: config.OPS_PORT,
        opsHost: config.OPS_HOST,
        logLevel: config.LOG_LEVEL,
        logWrite: deps.logWrite,
      }),
      MessagingModule.forRoot(
        messagingOptionsFromConfig(SERVICE_NAME, config, serviceProvisioning(SERVICE_NAME, config)),
      ),
    ],
    controllers: [SessionController],
    providers: [
      { provide: EASYCARD_CONFIG, useValue: config },
      { provide: CLOCK, useValue: runtime.clock },
      {
        provide: SessionStore,
        inject: [JetStreamSetup, JsonLogger],
        useFactory: (setup: JetStreamSetup, logger: JsonLogger) =>
          new SessionStore(() => setup.bucket(SESSIONS_BUCKET), logger),
      },
      {
        provide: SessionMetrics,
        inject: [Registry, SessionStore],
        useFactory: (registry: Registry, store: SessionStore) =>
          new SessionMetrics(
            registry,
            () => store.cached(),
            runtime.clock,
            keyCheck(runtime.keyBox),
          ),
      },
      {
        provide: IntellaClient,
        inject: [JsonLogger, SessionMetrics],
        useFactory: (logger: JsonLogger, metrics: SessionMetrics) =>
          new IntellaClient({
            timeoutMs: config.INTELLA_TIMEOUT_MS,
            maxTries: config.INTELLA_MAX_TRIES,
            clock: runtime.clock,
            logger,
            fetch: deps.fetch,
            observe: (serviceType, result, seconds) => {
              metrics.intellaRequests.inc({ service_type: serviceType, result });
              metrics.intellaDuration.observe({ service_type: serviceType }, seconds);
            },
          }),
      },
      {
        provide: SessionEvents,
        inject: [NatsConnectionManager, SessionStore, SessionMetrics, JsonLogger],
        useFactory: (
          connection: NatsConnectionManager,
          store: SessionStore,
          metrics: SessionMetrics,
          logger: JsonLogger,
        ) => new SessionEvents(connection, store, metrics, logger),
      },
      { provide: SessionKeyMaterial, useFactory: () => new SessionKeyMaterial(runtime) },
      {
        provide: SignOnService,
        inject: [
          SessionKeyMaterial,
          SessionStore,
          SessionEvents,
          IntellaClient,
          SessionMetrics,
          JsonLogger,
        ],
        useFactory: (
          keys: SessionKeyMaterial,
          store: SessionStore,
          events: SessionEvents,
          client: IntellaClient,
          metrics: SessionMetrics,
          logger: JsonLogger,
        ) => new SignOnService(runtime, keys, store, events, client, metrics, logger),
      },
      {
        provide: SettlementService,
        inject: [
          SessionKeyMaterial,
          SessionStore,
          SessionEvents,
          IntellaClient,
          SessionMetrics,
          JsonLogger,
        ],
        useFactory: (
          keys: SessionKeyMaterial,
          store: SessionStore,
          events: SessionEvents,
          client: IntellaClient,
          metrics: SessionMetrics,
          logger: JsonLogger,
        ) => new SettlementService(runtime, keys, store, events, client, metrics, logger),
      },
      {
        provide: SessionMaintenanceService,
        inject: [
          SessionKeyMaterial,
          SessionStore,
          SessionEvents,
          SignOnService,
          SessionMetrics,
          JsonLogger,
        ],
        useFactory: (
          keys: SessionKeyMaterial,
          store: SessionStore,
          events: SessionEvents,
          signOns: SignOnService,
          metrics: SessionMetrics,
          logger: JsonLogger,
        ) => new SessionMaintenanceService(runtime, keys, store, events, signOns, metrics, logger),
      },
      {
        provide: KeyReleaseService,
        inject: [SessionStore, SessionMaintenanceService, SessionMetrics, JsonLogger],
        useFactory: (
          store: SessionStore,
          maintenance: SessionMaintenanceService,
          metrics: SessionMetrics,
          logger: JsonLogger,
        ) => new KeyReleaseService(runtime, store, maintenance, metrics, logger),
      },
      {
        provide: ReaderRegistrationService,
        inject: [SessionStore, JetStreamSetup, IntellaClient, SessionMetrics, JsonLogger],
        useFactory: (
          store: SessionStore,
          setup: JetStreamSetup,
          client: IntellaClient,
          metrics: SessionMetrics,
          logger: JsonLogger,
        ) =>
          new ReaderRegistrationService(
            runtime,
            store,
            () => setup.bucket(SCHEDULE_BUCKET),
            client,
            metrics,
            logger,
          ),
      },
      {
        provide: Scheduler,
        inject: [
          SessionStore,
          SessionKeyMaterial,
          SessionMaintenanceService,
          SignOnService,
          SettlementService,
          ReaderRegistrationService,
          SessionEvents,
          JsonLogger,
        ],
        useFactory: (
          store: SessionStore,
          keys: SessionKeyMaterial,
          maintenance: SessionMaintenanceService,
          signOns: SignOnService,
          settlements: SettlementService,
          registration: ReaderRegistrationService,
          events: SessionEvents,
          logger: JsonLogger,
        ) =>
          new Scheduler(
            {
              tickMs: config.EASYCARD_TICK_MS,
              maxConcurrent: config.EASYCARD_MAX_CONCURRENT,
              merchants: [...runtime.merchants.keys()],
              policy: runtime.policy,
            },
            runtime.clock,
            store,
            keys,
            maintenance,
            signOns,
            settlements,
            registration,
            events,
            logger,
          ),
      },
      EasyCardLifecycle,
    ],
  };
}

/** Resolves the configuration's secrets, then starts the service (tests start replicas in-process the same way). */
export async function startEasyCardSession(
  config: EasyCardSessionConfig,
  deps: EasyCardSessionDeps = {},
): Promise<RunningService> {
  const runtime = buildRuntime(config, deps);
  return startService({ module: easyCardSessionModule(config, runtime, deps) });
}
