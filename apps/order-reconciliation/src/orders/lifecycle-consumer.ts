import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { isPosChangeKind } from '@tillbus/contracts';
import {
  BusMetrics,
  DurableConsumer,
  MESSAGING_OPTIONS,
  type MessagingOptions,
  NatsConnectionManager,
  orderLifecycleConsumer,
  PermanentError,
} from '@tillbus/messaging';
import { JsonLogger } from '@tillbus/observability';
import { isPosLifecycleKind } from '@tillbus/result-codes';
import { ORDER_RECONCILIATION_CONFIG, type OrderReconciliationConfig } from '../config';
import { OrderMetrics } from '../metrics';
import { OrderNotFoundError } from './errors';
import { parseLifecycleMessage, type LifecycleMessage } from './lifecycle-event';
import { OrdersService } from './orders.service';

/**
 * Redelivery delays of a POS event that failed, capped at 2 s so events flow again within seconds of the bus
 * coming back; EVENTS_MAX_DELIVER (200 by default) keeps the retry window near 7 minutes.
 */
export const LIFECYCLE_RETRY_MS = [250, 1_000, 2_000];

/**
 * The durable consumer of TILLBUS_ORDERS that applies the POS lifecycle events (statuses) and changes (short order
 * number, ready time, refund, merchant delivery status). Shared by every replica (one
 * durable), explicit acks, bounded redelivery with backoff for transient trouble, and dead letters for events that
 * can never apply (unknown order, invalid body, unknown kind).
 */
@Injectable()
export class LifecycleConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private consumer?: DurableConsumer<LifecycleMessage>;
  running = false;

  constructor(
    private readonly connection: NatsConnectionManager,
    private readonly orders: OrdersService,
    private readonly metrics: OrderMetrics,
    private readonly busMetrics: BusMetrics,
    private readonly logger: JsonLogger,
    @Inject(ORDER_RECONCILIATION_CONFIG) private readonly config: OrderReconciliationConfig,
    @Inject(MESSAGING_OPTIONS) private readonly messaging: MessagingOptions,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.consumer = new DurableConsumer<LifecycleMessage>(
      this.connection,
      {
        ...orderLifecycleConsumer(this.config),
        backoffMs: LIFECYCLE_RETRY_MS,
        parse: (body, msg) => {
          try {
            return parseLifecycleMessage(msg.subject, body);
          } catch (error) {
            this.metrics.lifecycleEvents.inc({ kind: kindOf(msg.subject), result: 'invalid' });
            throw error;
          }
        },
        handle: (message, msg) => this.handle(message, msg.info.streamSequence),
      },
      this.logger,
      this.busMetrics,
    );
    await this.consumer.start();
    this.running = true;
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.running = false;
    await this.consumer?.stop(this.messaging.shutdownGraceMs);
  }

  private async handle(message: LifecycleMessage, streamSequence: number): Promise<void> {
    if (message.type === 'ignored') return;
    try {
      const result =
        message.type === 'change'
          ? await this.orders.applyPosChange(message.kind, message.event, streamSequence)
          : await this.orders.applyLifecycleEvent(message.kind, message.event, streamSequence);
      this.metrics.lifecycleEvents.inc({ kind: message.kind, result });
    } catch (error) {
      if (error instanceof OrderNotFoundError) {
        this.metrics.lifecycleEvents.inc({ kind: message.kind, result: 'unknown_order' });
        throw new PermanentError(
          `${message.kind} event for an unknown order: ${error.message}`,
          undefined,
          { cause: error },
        );
      }
      throw error;
    }
  }
}

/** A bounded metric label: the kind when it is a lifecycle kind, `other` otherwise. */
function kindOf(subject: string): string {
  const kind = subject.split('.')[3] ?? '';
  return isPosLifecycleKind(kind) || isPosChangeKind(kind) ? kind : 'other';
}
