import {
  Global,
  Inject,
  Injectable,
  Module,
  type DynamicModule,
  type OnModuleInit,
} from '@nestjs/common';
import type { KV } from '@nats-io/kv';
import { OpsServer } from '@tillbus/observability';
import { BusMetrics } from './bus-metrics';
import { BusClient } from './client';
import { NatsConnectionManager } from './connection';
import { deadLetterStream, ensureKvBucket, ensureStream } from './jetstream';
import { MESSAGING_OPTIONS, type MessagingOptions } from './options';

/**
 * Connects, declares the service's streams and KV buckets (idempotently, from every replica), and wires the
 * readiness check. Services read their buckets from here once the module is initialised.
 */
@Injectable()
export class JetStreamSetup implements OnModuleInit {
  private readonly buckets = new Map<string, KV>();

  constructor(
    @Inject(MESSAGING_OPTIONS) private readonly options: MessagingOptions,
    private readonly connection: NatsConnectionManager,
    private readonly ops: OpsServer,
  ) {}

  async onModuleInit(): Promise<void> {
    this.ops.addReadinessCheck({ name: 'nats', check: () => this.connection.checkJetStream() });
    await this.connection.connect();
    const jsm = await this.connection.jetstreamManager();
    const replicas = this.options.streamReplicas ?? 1;
    await ensureStream(jsm, deadLetterStream(replicas));
    for (const stream of this.options.streams ?? []) {
      await ensureStream(jsm, { num_replicas: replicas, ...stream });
    }
    for (const declaration of this.options.buckets ?? []) {
      this.buckets.set(
        declaration.name,
        await ensureKvBucket(this.connection.kvm(), declaration, replicas),
      );
    }
  }

  bucket(name: string): KV {
    const kv = this.buckets.get(name);
    if (!kv)
      throw new Error(`KV bucket ${name} is not declared in MessagingModule.forRoot({ buckets })`);
    return kv;
  }
}

@Global()
@Module({})
export class MessagingModule {
  static forRoot(options: MessagingOptions): DynamicModule {
    return {
      module: MessagingModule,
      providers: [
        { provide: MESSAGING_OPTIONS, useValue: options },
        NatsConnectionManager,
        BusMetrics,
        BusClient,
        JetStreamSetup,
      ],
      exports: [MESSAGING_OPTIONS, NatsConnectionManager, BusMetrics, BusClient, JetStreamSetup],
    };
  }
}
