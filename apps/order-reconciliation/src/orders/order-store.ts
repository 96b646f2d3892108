import { Inject, Injectable } from '@nestjs/common';
import type { KV, KvEntry } from '@nats-io/kv';
import { orderSubjectToken, TillbusError } from '@tillbus/contracts';
import {
  CasConflictError,
  compareAndSet,
  createIfAbsent,
  type CreateResult,
  kvJson,
  type Mutation,
  NatsConnectionManager,
  type RetryPolicy,
  scanLatest,
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
        undefined,
        { cause: error },
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
   * after a short random pause, each KV call with its own store timeout. Every round has a winner, so all get
   * through.
   */
  async update(
    requestOrderId: string,
    mutate: Mutation<OrderRecord>,
  ): Promise<{ value: OrderRecord | undefined; revision: number; changed: boolean }> {
    const result = await compareAndSet(this.kv, orderSubjectToken(requestOrderId), mutate, {
      retry: UNTIL_WON,
      kvCall: (call) => this.access.run('updating the order', call),
    });
    if (!result.ok) throw new CasConflictError(result.key, result.attempts);
    return result;
  }

  /**
   * Visits the current value of every order once (a single pass over the bucket's stream, not a get per key).
   * Stops early when `visit` returns false.
   */
  async scan(visit: (order: OrderRecord) => boolean | void): Promise<number> {
    return this.access.run('scanning the orders', () => scanLatest(this.kv, asOrder, visit));
  }
}

/** Contention is never an error: retry until won, with a short random pause that grows a little. */
const UNTIL_WON: RetryPolicy = {
  maxAttempts: Infinity,
  delayMs: (attempt) => Math.random() * Math.min(50, 5 * attempt),
};

export function decodeOrder(entry: KvEntry | null | undefined): OrderRecord | undefined {
  return asOrder(kvJson.decode<unknown>(entry));
}

/** A stored JSON value that is an order, or undefined. */
export function asOrder(value: unknown): OrderRecord | undefined {
  return value &&
    typeof value === 'object' &&
    typeof (value as OrderRecord).requestOrderId === 'string'
    ? (value as OrderRecord)
    : undefined;
}
