import { createServer } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import {
  ANTOM_PATHS,
  loadPrivateKey,
  loadPublicKey,
  type AntomKeyInput,
  type CreateOrderRequest,
  type PushOrderChangeRequest,
} from '@tillbus/protocols-antom';
import { dstoreResult } from '@tillbus/result-codes';
import { urlPath, withBody } from '../shared/http-body';
import { listen, reachableHost } from '../shared/http-server';
import { CONTROL_PREFIX, dstoreControl } from './control';
import { initialFaults, resetFaults, updateFaults, type DStoreFaults } from './faults';
import { NotifyEndpoint } from './notify-endpoint';
import type { BuyerView } from './orders';
import { PosClient, type CallOptions, type CallResult } from './pos-client';
import {
  DStoreState,
  type AppliedEffect,
  type DStoreCounters,
  type ReceivedNotification,
} from './state';

export {
  DEFAULT_FAULTS,
  checkFaults,
  readAnswer,
  type DStoreFaults,
  type NotifyAnswer,
} from './faults';
export type { CallOptions, CallResult } from './pos-client';
export type { AppliedEffect, DStoreCounters, ReceivedNotification } from './state';

export interface DStoreSimulatorOptions {
  port?: number;
  host?: string;
  /** Base URL of the POS edge D-Store calls (createOrder, pushOrderChange, inquireOrderDetail). */
  posUrl?: string;
  /** The Client-Id D-Store uses when calling the POS. */
  clientId: string;
  /** D-Store's private key: signs its calls and its answers. */
  privateKey: AntomKeyInput;
  /** The POS provider's public key: verifies notifyOrderChange and the POS's answers. */
  posPublicKey: AntomKeyInput;
  /** The Client-Id the POS must send on notifyOrderChange; any when omitted. */
  posClientId?: string;
  maxSkewMs?: number;
  faults?: Partial<DStoreFaults>;
  now?: () => number;
}

export interface LostNotificationReport {
  dropped: ReceivedNotification;
  inquiry: CallResult;
  /** D-Store learned by inquiry the status the dropped notification carried. */
  consistent: boolean;
}

export interface DStoreSimulator {
  url: string;
  port: number;
  readonly faults: DStoreFaults;
  setFaults(faults: Partial<DStoreFaults>): DStoreFaults;
  /** Sends every held answer; returns how many. */
  release(): number;
  readonly received: readonly ReceivedNotification[];
  /** The effects D-Store applied, at most one per requestId. */
  readonly effects: ReadonlyMap<string, AppliedEffect>;
  readonly counters: DStoreCounters;
  /** The status D-Store believes an order has, from the notifications it applied. */
  belief(requestOrderId: string): string | undefined;
  /** What the buyer sees: status, pickup code, delivery status, paid and refunded totals. */
  buyer(requestOrderId: string): BuyerView | undefined;
  createOrder(
    body: CreateOrderRequest | Record<string, unknown>,
    options?: CallOptions,
  ): Promise<CallResult>;
  pushOrderChange(
    body: PushOrderChangeRequest | Record<string, unknown>,
    options?: CallOptions,
  ): Promise<CallResult>;
  inquireOrderDetail(requestOrderId: string, options?: CallOptions): Promise<CallResult>;
  /** Any signed call to the POS edge. */
  call(path: string, body: unknown, options?: CallOptions): Promise<CallResult>;
  /** Drops the order's next notification, then inquires and compares. */
  lostNotification(requestOrderId: string, timeoutMs?: number): Promise<LostNotificationReport>;
  reset(): void;
  close(): Promise<void>;
}

/**
 * The D-Store cloud: it calls the POS edge with signed createOrder, pushOrderChange and inquireOrderDetail
 * requests, and receives notifyOrderChange, verifies its signature and answers by script. See README.md.
 */
export async function startDStoreSimulator(
  options: DStoreSimulatorOptions,
): Promise<DStoreSimulator> {
  const now = options.now ?? Date.now;
  const privateKey = loadPrivateKey(options.privateKey);
  const posPublicKey = loadPublicKey(options.posPublicKey);
  const maxSkewMs = options.maxSkewMs ?? 5 * 60_000;
  const faults = initialFaults(options.faults);
  const state = new DStoreState();
  const endpoint = new NotifyEndpoint({
    faults,
    state,
    privateKey,
    strangerKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
    posPublicKey,
    ...(options.posClientId === undefined ? {} : { posClientId: options.posClientId }),
    maxSkewMs,
    now,
  });
  const pos = new PosClient({
    faults,
    state,
    ...(options.posUrl === undefined ? {} : { posUrl: options.posUrl }),
    clientId: options.clientId,
    privateKey,
    posPublicKey,
    maxSkewMs,
    now,
  });
  const call = pos.call.bind(pos);

  const server = createServer(
    // No body limit: D-Store reads whatever the POS edge sends it.
    withBody(
      {
        maxBytes: Number.POSITIVE_INFINITY,
        onError(req, res, error) {
          if (!res.headersSent && !res.destroyed)
            endpoint.respond(req, res, 200, {
              result: dstoreResult(
                'UNKNOWN_EXCEPTION',
                String((error as Error).message).slice(0, 200),
              ),
            });
        },
      },
      (req, res, raw) => {
        const path = urlPath(req.url);
        if (path.startsWith(CONTROL_PREFIX)) return onControl(req, res, raw);
        return endpoint.handle(req, res, raw, path);
      },
    ),
  );
  const listening = await listen(server, options);
  const port = listening.port;
  const host = reachableHost(options.host);

  const simulator: DStoreSimulator = {
    url: `http://${host}:${port}`,
    port,
    faults,
    setFaults: (partial) => updateFaults(faults, partial),
    release: () => state.release(),
    received: state.received,
    effects: state.effects,
    counters: state.counters,
    belief: (requestOrderId) => state.beliefs.get(requestOrderId),
    buyer: (requestOrderId) => state.buyers.get(requestOrderId),
    createOrder: (body, callOptions) => call(ANTOM_PATHS.CREATE_ORDER, body, callOptions),
    pushOrderChange: (body, callOptions) => call(ANTOM_PATHS.PUSH_ORDER_CHANGE, body, callOptions),
    inquireOrderDetail: (requestOrderId, callOptions) =>
      call(ANTOM_PATHS.INQUIRE_ORDER_DETAIL, { requestOrderId }, callOptions),
    call,
    async lostNotification(requestOrderId, timeoutMs = 30_000) {
      if (!requestOrderId) throw new Error('requestOrderId is required');
      const from = state.received.length;
      faults.dropNextFor.push(requestOrderId);
      const dropped = await state.waitUntil(
        () =>
          state.received
            .slice(from)
            .find((r) => r.requestOrderId === requestOrderId && r.answer === 'DROP'),
        timeoutMs,
        `a notification for ${requestOrderId} to drop`,
      );
      const inquiry = await simulator.inquireOrderDetail(requestOrderId, { duplicates: 0 });
      const answered = inquiry.body as { orderStatus?: string } | undefined;
      return {
        dropped,
        inquiry,
        consistent:
          inquiry.signature.ok &&
          inquiry.result?.resultStatus === 'S' &&
          answered?.orderStatus === dropped.orderStatus,
      };
    },
    reset() {
      resetFaults(faults);
      state.reset();
    },
    async close() {
      simulator.release();
      await listening.close();
    },
  };
  const onControl = dstoreControl(simulator, () => state.snapshot(faults));
  return simulator;
}
