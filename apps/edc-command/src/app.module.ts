import type { DynamicModule } from '@nestjs/common';
import {
  CLOCK,
  type Clock,
  messagingOptionsFromConfig,
  NatsConnectionManager,
  serviceProvisioning,
  SystemClock,
} from '@tillbus/messaging';
import { MessagingModule, ObservabilityModule } from '@tillbus/runtime';
import { JsonLogger } from '@tillbus/observability';
import { BridgePresence } from './vendor/presence';
import { BaselineReader } from './commands/baseline-reader';
import { BridgeDispatch } from './commands/bridge-dispatch';
import { BridgeInbox } from './commands/bridge-inbox';
import { CancelIntake } from './commands/cancel-intake';
import { CommandEffects } from './commands/command-effects';
import { CommandIntake } from './commands/command-intake';
import { CommandSettlement } from './commands/command-settlement';
import { CommandWriter } from './commands/command-writer';
import { DeviceLock } from './commands/device-lock';
import { SubmitWaiters } from './commands/submit-waiters';
import { EDC_CONFIG, type EdcCommandConfig } from './config';
import { EdcController } from './bus/edc.controller';
import { ConnectionHold } from './lifecycle/connection-hold';
import { EdcRuntime } from './lifecycle/edc-runtime';
import { EdcMetrics } from './metrics';
import { CommandTakeover } from './ownership/command-takeover';
import { OwnerLeases } from './ownership/owner-leases';
import { EventPublisher } from './commands/event-publisher';
import { CancelDeadlines } from './recovery/cancel-deadlines';
import { CommandTimers } from './recovery/command-timers';
import { JournalCheck } from './recovery/journal-check';
import { BridgeProbe } from './vendor/bridge-probe';
import { JournalLink } from './vendor/journal-link';
import { Recovery } from './recovery/recovery';
import { RunState } from './lifecycle/run-state';
import { InDoubtIndex } from './store/in-doubt-index';
import { STORE_PROVIDERS } from './store/store.providers';
import { RecordStore } from './store/stores';

export const SERVICE_NAME = 'edc-command';

/** An error no handler anticipated is a failure of NATS or KV: a retry with the same requestId never runs twice. */
export const EDC_UNKNOWN_ERROR_REPLY = {
  code: 'UNAVAILABLE',
  message:
    'edc-command could not reach NATS or its KV buckets; retry with the same requestId (it is never run twice)',
} as const;

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
        opsHost: config.OPS_HOST,
        logLevel: config.LOG_LEVEL,
        logWrite,
      }),
      MessagingModule.forRoot(
        messagingOptionsFromConfig(SERVICE_NAME, config, serviceProvisioning(SERVICE_NAME, config)),
        { unknownErrorReply: EDC_UNKNOWN_ERROR_REPLY },
      ),
    ],
    controllers: [EdcController],
    providers: [
      { provide: EDC_CONFIG, useValue: config },
      { provide: CLOCK, useValue: clock ?? new SystemClock() },
      EdcMetrics,
      RunState,
      ...STORE_PROVIDERS,
      InDoubtIndex,
      {
        provide: BridgePresence,
        inject: [JsonLogger, EdcMetrics],
        useFactory: (logger: JsonLogger, metrics: EdcMetrics) => {
          const presence = new BridgePresence(config.EDC_PRESENCE_WARMUP_MS, logger, metrics);
          metrics.countBridges = () => presence.connectedBridges();
          return presence;
        },
      },
      {
        provide: EventPublisher,
        inject: [NatsConnectionManager, RecordStore, JsonLogger, EdcMetrics],
        useFactory: (
          connection: NatsConnectionManager,
          records: RecordStore,
          logger: JsonLogger,
          metrics: EdcMetrics,
        ) => {
          const publisher = new EventPublisher(
            () => connection.jetstream(),
            () => connection.jetstreamManager(),
            logger,
            metrics,
          );
          records.trimEventsWith((record) => publisher.ackedThrough(record));
          return publisher;
        },
      },
      // commands: intake, dispatch, inbox, effects
      CommandWriter,
      SubmitWaiters,
      DeviceLock,
      BridgeDispatch,
      CancelIntake,
      BaselineReader,
      CommandIntake,
      CommandSettlement,
      BridgeInbox,
      CommandEffects,
      // recovery and timers
      CancelDeadlines,
      Recovery,
      JournalCheck,
      BridgeProbe,
      JournalLink,
      CommandTimers,
      // ownership: lease, sweep, adopt
      OwnerLeases,
      CommandTakeover,
      ConnectionHold,
      EdcRuntime,
    ],
  };
}
