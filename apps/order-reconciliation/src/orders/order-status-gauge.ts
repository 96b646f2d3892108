import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { KV } from '@nats-io/kv';
import { JetStreamSetup } from '@tillbus/runtime';
import { JsonLogger } from '@tillbus/observability';
import { DSTORE_ORDER_STATUS_NAMES, type DStoreOrderStatus } from '@tillbus/result-codes';
import { ORDER_RECONCILIATION_CONFIG, type OrderReconciliationConfig } from '../config';
import { OrderMetrics } from '../metrics';
import { ORDERS_BUCKET } from './names';
import { isUndelivered } from './order-record';
import { decodeOrder } from './order-store';

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

/**
 * Orders by status, from a watch on the orders bucket: the watcher replays the last value of every key, then
 * follows changes. Every replica computes the same cluster-wide numbers (dashboards take the max). KV expiry sends
 * watchers no delete, so the tally is rebuilt from scratch every ORDERS_GAUGE_RESYNC_MS; until a rebuild has
 * caught up, the previous tally is reported.
 */
@Injectable()
export class OrderStatusGauge implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private stopped = false;
  private stopCurrent?: () => void;
  private timer?: NodeJS.Timeout;
  private loop?: Promise<void>;

  constructor(
    private readonly setup: JetStreamSetup,
    private readonly metrics: OrderMetrics,
    private readonly logger: JsonLogger,
    @Inject(ORDER_RECONCILIATION_CONFIG) private readonly config: OrderReconciliationConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.loop = this.run();
    this.timer = setInterval(() => this.stopCurrent?.(), this.config.ORDERS_GAUGE_RESYNC_MS);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.stopCurrent?.();
    await this.loop;
  }

  /** Watches until stopped (resync) or the watcher ends (connection trouble), then starts over. */
  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.watchOnce(this.setup.bucket(ORDERS_BUCKET));
      } catch (error) {
        this.logger.event('warn', 'orders gauge watcher failed; restarting', {
          error: (error as Error).message,
        });
      }
      if (!this.stopped) await new Promise((r) => setTimeout(r, 1000).unref());
    }
  }

  private async watchOnce(kv: KV): Promise<void> {
    const tally = new Tally();
    let caughtUp = (await kv.status()).values === 0;
    if (caughtUp) this.publish(tally);
    const watcher = await kv.watch();
    this.stopCurrent = () => watcher.stop();
    if (this.stopped) watcher.stop();
    for await (const entry of watcher) {
      const order = decodeOrder(entry);
      if (order) tally.set(entry.key, order.status, order.notifications.some(isUndelivered));
      else tally.delete(entry.key);
      if (!caughtUp && entry.delta === 0) caughtUp = true;
      if (caughtUp) this.publish(tally);
    }
  }

  private publish(tally: Tally): void {
    for (const [status, count] of tally.counts) this.metrics.orders.set({ status }, count);
    this.metrics.ordersWithUndelivered.set(tally.undelivered);
  }
}
