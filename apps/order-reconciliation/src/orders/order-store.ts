import { Inject, Injectable } from '@nestjs/common';
import type { KV, KvEntry } from '@nats-io/kv';
import { setTimeout as sleep } from 'node:timers/promises';
import { orderSubjectToken, TillbusError } from '@tillbus/contracts';
import {
  CasConflictError,
  createIfAbsent,
  kvJson,
  NatsConnectionManager,
  updateWithRevision,
  type CreateResult,
  type Mutation,
} from '@tillbus/messaging';
import { JetStreamSetup } from '@tillbus/runtime';
import { ORDER_RECONCILIATION_CONFIG, type OrderReconciliationConfig } from '../config';
import { StoreUnavailableError } from './errors';
import { ORDERS_BUCKET } from './names';
import type { OrderRecord } from './order-record';

/**
 * JetStream access with one failure rule: anything but our own domain errors (a disconnect, a timeout, a JetStream
 * error) becomes StoreUnavailableError, which D-Store sees as U and the bus as UNAVAILABLE. While NATS is
 * disconnected the call fails at once instead of waiting for the JetStream timeout.
 */
@Injectable()
export class StoreAccess {
  constructor(
    private readonly connection: NatsConnectionManager,
    @Inject(ORDER_RECONCILIATION_CONFIG) private readonly config: OrderReconciliationConfig,
  ) {}

  async run<T>(what: string, op: () => Promise<T>): Promise<T> {
    if (!this.connection.isConnected())
      throw new StoreUnavailableError(`${what}: NATS is disconnected; retry`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new StoreUnavailableError(
              `${what}: no answer from JetStream within ${this.config.STORE_TIMEOUT_MS} ms; retry`,
            ),
          ),
        this.config.STORE_TIMEOUT_MS,
      );
    });
    try {
      return await Promise.race([op(), timeout]);
    } catch (error) {
      // A lost compare-and-set is contention, not an outage: OrderStore.update retries it.
      if (error instanceof TillbusError || error instanceof CasConflictError) throw error;
      throw new StoreUnavailableError(
        `${what}: ${(error as Error).message ?? String(error)}; retry`,
      );
    } finally {
      clearTimeout(timer);
    }
  }
}

export interface StoredOrder {
  order: OrderRecord;
  revision: number;
}

@Injectable()
export class OrderStore {
  private kvHandle?: KV;

  constructor(
    private readonly setup: JetStreamSetup,
    private readonly access: StoreAccess,
  ) {}

  private get kv(): KV {
    this.kvHandle ??= this.setup.bucket(ORDERS_BUCKET);
    return this.kvHandle;
  }

  async get(requestOrderId: string): Promise<StoredOrder | undefined> {
    const entry = await this.access.run('reading the order', () =>
      this.kv.get(orderSubjectToken(requestOrderId)),
    );
    const order = decodeOrder(entry);
    return order && entry ? { order, revision: entry.revision } : undefined;
  }

  /** Stores a new order unless one is there; returns what is stored either way. */
  create(order: OrderRecord): Promise<CreateResult<OrderRecord>> {
    return this.access.run('storing the order', () =>
      createIfAbsent(this.kv, orderSubjectToken(order.requestOrderId), order),
    );
  }

  /**
   * Read-modify-write with compare-and-set; `mutate` may throw a domain error, which passes through. Losing the
   * compare-and-set to other writers (other replicas) is not an outage: it reads again and retries until it wins,
   * after a short random pause, each round with its own store timeout. Every round has a winner, so all get through.
   */
  async update(
    requestOrderId: string,
    mutate: Mutation<OrderRecord>,
  ): Promise<{ value: OrderRecord | undefined; revision: number; changed: boolean }> {
    for (let round = 1; ; round++) {
      try {
        return await this.access.run('updating the order', () =>
          updateWithRevision(this.kv, orderSubjectToken(requestOrderId), mutate),
        );
      } catch (error) {
        if (!(error instanceof CasConflictError)) throw error;
        await sleep(Math.random() * Math.min(50, 5 * round));
      }
    }
  }

  /**
   * Visits the current value of every order once (a single pass over the bucket's stream, not a get per key).
   * Stops early when `visit` returns false.
   */
  async scan(visit: (order: OrderRecord) => boolean | void): Promise<number> {
    return this.access.run('scanning the orders', () => scanBucket(this.kv, visit));
  }
}

/** One pass over the last value of every key; ends when the watcher has caught up with the bucket. */
export async function scanBucket(
  kv: KV,
  visit: (order: OrderRecord) => boolean | void,
  idleMs = 2000,
): Promise<number> {
  const status = await kv.status();
  if (status.values === 0) return 0;
  const watcher = await kv.watch();
  let idle: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(idle);
    idle = setTimeout(() => watcher.stop(), idleMs);
  };
  let visited = 0;
  arm();
  try {
    for await (const entry of watcher) {
      arm();
      const order = decodeOrder(entry);
      if (order) {
        visited++;
        if (visit(order) === false) break;
      }
      if (entry.delta === 0) break;
    }
  } finally {
    clearTimeout(idle);
    watcher.stop();
  }
  return visited;
}

export function decodeOrder(entry: KvEntry | null | undefined): OrderRecord | undefined {
  const value = kvJson.decode<OrderRecord>(entry);
  return value && typeof value === 'object' && typeof value.requestOrderId === 'string'
    ? value
    : undefined;
}
