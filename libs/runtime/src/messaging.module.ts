import {
  Global,
  Inject,
  Injectable,
  Module,
  type DynamicModule,
  type OnModuleInit,
} from '@nestjs/common';
import type { KV } from '@nats-io/kv';
import type { JetStreamManager } from '@nats-io/jetstream';
import {
  BusClient,
  BusMetrics,
  MESSAGING_OPTIONS,
  NatsConnectionManager,
  openKvBucket,
  provisioningGaps,
  provisioningSteps,
  runStartupStep,
  type MessagingOptions,
  type Provisioning,
  type StartupStepContext,
} from '@tillbus/messaging';
import { JsonLogger, OpsServer } from '@tillbus/observability';
import { Registry } from 'prom-client';
import { UNKNOWN_ERROR_REPLY, type UnknownErrorReply } from './bus-errors';

/**
 * Connects, makes sure the service's streams, KV buckets and durable consumers exist (verify mode: waits, not
 * ready, until `tillbus provision` has created them; apply mode: declares them), and wires the readiness checks.
 * Every step waits out a cluster that is still electing (runStartupStep): the service stays up, /readyz names the
 * step, and it never exits for that. Services read their buckets from here once the module is initialised.
 */
@Injectable()
export class JetStreamSetup implements OnModuleInit {
  private readonly buckets = new Map<string, KV>();
  private missing: string[] = [];

  constructor(
    @Inject(MESSAGING_OPTIONS) private readonly options: MessagingOptions,
    private readonly connection: NatsConnectionManager,
    private readonly ops: OpsServer,
    private readonly logger: JsonLogger,
  ) {}

  async onModuleInit(): Promise<void> {
    this.ops.addReadinessCheck({ name: 'nats', check: () => this.connection.checkJetStream() });
    this.ops.addReadinessCheck({
      name: 'provisioning',
      check: () =>
        this.missing.length === 0
          ? { ok: true }
          : { ok: false, detail: `not provisioned: ${this.missing.join(', ')}` },
    });
    const steps: StartupStepContext = { logger: this.logger, ops: this.ops };
    this.ops.reportStartup('connect NATS');
    // Up before the first step: liveness answers, and /readyz says what the boot waits for.
    await this.ops.start();
    // Waits by itself for a server that is not up yet (waitOnFirstConnect); it fails only for what waiting cannot
    // fix, such as a wrong password, and then the service exits (docs/operations.md, rotating a NATS password).
    await this.connection.connect();
    const jsm = await runStartupStep(
      'reach',
      'JetStream',
      () => this.connection.jetstreamManager(),
      steps,
    );
    const plan = this.options.provisioning ?? { streams: [], buckets: [], consumers: [] };
    if ((this.options.provisioningMode ?? 'verify') === 'apply') {
      for (const step of provisioningSteps(plan)) {
        await runStartupStep(
          `declare ${step.kind}`,
          step.target,
          () => step.run(jsm, this.connection.kvm()),
          steps,
        );
      }
    } else {
      await this.waitUntilProvisioned(jsm, plan, steps);
    }
    for (const { name } of plan.buckets) {
      const kv = await runStartupStep(
        'open bucket',
        name,
        () => openKvBucket(jsm, this.connection.kvm(), name),
        steps,
      );
      this.buckets.set(name, kv);
    }
  }

  bucket(name: string): KV {
    const kv = this.buckets.get(name);
    if (!kv)
      throw new Error(
        `KV bucket ${name} is not declared in MessagingModule.forRoot({ provisioning })`,
      );
    return kv;
  }

  /**
   * Never gives up and never exits: logs exactly what is missing, serves /readyz (503 with the list) and checks
   * again with backoff, so the pod becomes ready on its own once the provisioning Job has run. What JetStream cannot
   * answer for (a cluster still electing: `timeout`, "temporarily unavailable") is not missing: that check is a
   * startup step, tried again at the startup pace, so the service is ready within a pause of the quorum.
   */
  private async waitUntilProvisioned(
    jsm: JetStreamManager,
    plan: Provisioning,
    steps: StartupStepContext,
  ): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const { missing } = await runStartupStep(
        'verify',
        'provisioning',
        async () => {
          const gaps = await provisioningGaps(jsm, plan);
          if (gaps.unchecked.length > 0) throw new Error(gaps.unchecked.join(', '));
          return gaps;
        },
        steps,
      );
      this.missing = missing;
      if (this.missing.length === 0) return;
      const retryInMs = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** attempt);
      this.logger.event(
        'error',
        'JetStream is not provisioned for this service; run `tillbus provision` (see docs/deployment.md)',
        { step: 'verify provisioning', missing: this.missing, retryInMs },
        'Messaging',
      );
      this.ops.reportStartup(`verify provisioning: missing ${this.missing.join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, retryInMs));
    }
  }
}

const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 30_000;

/** How the service's bus handlers answer; the NATS options are MessagingOptions. */
export interface BusReplyOptions {
  /**
   * The reply to an error no handler anticipated, instead of INTERNAL_ERROR: for example UNAVAILABLE when every
   * such error is a NATS or KV failure and a retry is safe. The error itself is logged, never sent.
   */
  unknownErrorReply?: UnknownErrorReply;
}

@Global()
@Module({})
export class MessagingModule {
  static forRoot(options: MessagingOptions, replies: BusReplyOptions = {}): DynamicModule {
    return {
      module: MessagingModule,
      // The messaging classes know nothing of Nest: they are built here, and Nest calls their lifecycle hooks
      // (NatsConnectionManager.onApplicationShutdown drains the connection last).
      providers: [
        { provide: MESSAGING_OPTIONS, useValue: options },
        { provide: UNKNOWN_ERROR_REPLY, useValue: replies.unknownErrorReply ?? null },
        {
          provide: NatsConnectionManager,
          inject: [JsonLogger],
          useFactory: (logger: JsonLogger) => new NatsConnectionManager(options, logger),
        },
        {
          provide: BusMetrics,
          inject: [Registry, NatsConnectionManager],
          useFactory: (registry: Registry, connection: NatsConnectionManager) =>
            new BusMetrics(registry, connection),
        },
        {
          provide: BusClient,
          inject: [NatsConnectionManager, BusMetrics],
          useFactory: (connection: NatsConnectionManager, metrics: BusMetrics) =>
            new BusClient(connection, options, metrics),
        },
        JetStreamSetup,
      ],
      exports: [
        MESSAGING_OPTIONS,
        UNKNOWN_ERROR_REPLY,
        NatsConnectionManager,
        BusMetrics,
        BusClient,
        JetStreamSetup,
      ],
    };
  }
}
