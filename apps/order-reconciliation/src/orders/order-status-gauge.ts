import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { KvMirror } from '@tillbus/messaging';
import { JetStreamSetup } from '@tillbus/runtime';
import { JsonLogger } from '@tillbus/observability';
import { DSTORE_ORDER_STATUS_NAMES, type DStoreOrderStatus } from '@tillbus/result-codes';
import { ORDER_RECONCILIATION_CONFIG, type OrderReconciliationConfig } from '../config';
import { OrderMetrics } from '../metrics';
import { ORDERS_BUCKET } from './names';
import { isUndelivered } from './order-record';
import { asOrder } from './order-store';

/** Counts kept incrementally, so an update costs O(1) however many orders there are. */
class Tally {
  private readonly byKey = new Map<string, { status: DStoreOrderStatus; undelivered: boolean }>();
  readonly counts = new Map<string, number>(DSTORE_ORDER_STATUS_NAMES.map((s) => [s, 0]));
  undelivered = 0;

  set(key: string, status: DStoreOrderStatus, undelivered: boolean): void {
    this.delete(key);
    this.byKey.set(key, { status, undelivered });
    this.counts.set(status, (this.counts.get(status) ?? 0) + 1);
    if (undelivered) this.undelivered++;
  }

  delete(key: string): void {
    const previous = this.byKey.get(key);
    if (!previous) return;
    this.byKey.delete(key);
    this.counts.set(previous.status, (this.counts.get(previous.status) ?? 1) - 1);
    if (previous.undelivered) this.undelivered--;
  }
}

interface OrderCount {
  status: DStoreOrderStatus;
  undelivered: boolean;
}

/**
 * Orders by status, from a mirror of the orders bucket that holds only what the gauge counts. Every replica
 * computes the same cluster-wide numbers (dashboards take the max). KV expiry sends watchers no delete, so the
 * mirror loads the bucket again every ORDERS_GAUGE_RESYNC_MS and forgets what vanished; the numbers are reported
 * once the first load has caught up.
 */
@Injectable()
export class OrderStatusGauge implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly tally = new Tally();
  private mirror?: KvMirror<OrderCount>;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly setup: JetStreamSetup,
    private readonly metrics: OrderMetrics,
    private readonly logger: JsonLogger,
    @Inject(ORDER_RECONCILIATION_CONFIG) private readonly config: OrderReconciliationConfig,
  ) {}

  onApplicationBootstrap(): void {
    const mirror = new KvMirror<OrderCount>(this.setup.bucket(ORDERS_BUCKET), {
      name: 'orders gauge',
      decode: countOf,
      logger: this.logger,
      rewatchDelayMs: 1000,
      onChange: (key, count) => {
        if (count) this.tally.set(key, count.status, count.undelivered);
        else this.tally.delete(key);
        if (mirror.isLoaded) this.publish();
      },
    });
    this.mirror = mirror;
    void mirror.ready.then(() => this.publish());
    mirror.start();
    this.timer = setInterval(() => mirror.reload(), this.config.ORDERS_GAUGE_RESYNC_MS);
    this.timer.unref();
  }

  beforeApplicationShutdown(): void {
    clearInterval(this.timer);
    this.mirror?.stop();
  }

  private publish(): void {
    for (const [status, count] of this.tally.counts) this.metrics.orders.set({ status }, count);
    this.metrics.ordersWithUndelivered.set(this.tally.undelivered);
  }
}

function countOf(value: unknown): OrderCount | undefined {
  const order = asOrder(value);
  return order && { status: order.status, undelivered: order.notifications.some(isUndelivered) };
}
