import { CLOCK, type Clock } from '@tillbus/messaging';
import { Inject, Injectable } from '@nestjs/common';
import {
  ANTOM_PATHS,
  parseResultResponse,
  signRequest,
  verifyResponse,
  READY_TIME_FIELD,
  type NotifyOrderChangeRequest,
} from '@tillbus/protocols-antom';
import type { DeliveryEvent } from '@tillbus/result-codes';
import { ORDER_RECONCILIATION_CONFIG, type OrderReconciliationConfig } from '../config';
import { KEY_MATERIAL, type KeyMaterial } from '../vendor/key-material';
import { OrderMetrics } from '../metrics';
import type { NotificationRecord, OrderRecord } from '../orders/order-record';

/**
 * One signed `POST /v2/pos/notifyOrderChange` to D-Store, turned into an event of the delivery state machine. It
 * never throws: no answer (network error, timeout) and an answer we cannot trust (bad signature, not the schema) are
 * NO_ANSWER events, which the machine retries; a verified answer is ANSWERED with D-Store's result.
 */
@Injectable()
export class Notifier {
  private readonly url: string;

  constructor(
    @Inject(ORDER_RECONCILIATION_CONFIG) private readonly config: OrderReconciliationConfig,
    @Inject(KEY_MATERIAL) private readonly keys: KeyMaterial,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly metrics: OrderMetrics,
  ) {
    this.url = `${config.DSTORE_BASE_URL.replace(/\/+$/, '')}${ANTOM_PATHS.NOTIFY_ORDER_CHANGE}`;
  }

  /** The exact body sent: the same notification always produces the same bytes. */
  static bodyOf(order: OrderRecord, notification: NotificationRecord): Buffer {
    return Buffer.from(JSON.stringify(notifyRequestOf(order, notification)), 'utf8');
  }

  async send(order: OrderRecord, notification: NotificationRecord): Promise<DeliveryEvent> {
    const path = ANTOM_PATHS.NOTIFY_ORDER_CHANGE;
    const body = Notifier.bodyOf(order, notification);
    const headers = signRequest({
      path,
      clientId: this.config.POS_CLIENT_ID,
      body,
      privateKey: this.keys.posPrivateKey,
      keyVersion: this.config.POS_KEY_VERSION,
      requestTime: this.clock.now(),
    });
    let response: Response;
    let raw: Buffer;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(this.config.NOTIFY_TIMEOUT_MS),
      });
      raw = Buffer.from(await response.arrayBuffer());
    } catch (error) {
      const cause = isTimeout(error) ? 'TIMEOUT' : 'NETWORK_ERROR';
      this.metrics.attempt(undefined, cause);
      return { type: 'NO_ANSWER', now: this.clock.now(), cause, random: Math.random() };
    }
    const verified = await verifyResponse({
      path,
      headers: response.headers,
      rawBody: raw,
      publicKey: this.keys.dstorePublicKey,
      now: this.clock.now(),
      maxSkewMs: this.config.SIGNATURE_WINDOW_MS,
      clientId: this.config.POS_CLIENT_ID,
    });
    if (!verified.ok) {
      this.metrics.signatureFailures.inc({ direction: 'response', reason: verified.reason });
      this.metrics.attempt(undefined, 'BAD_SIGNATURE');
      return unreadable(this.clock);
    }
    let result;
    try {
      result = parseResultResponse(raw).result;
    } catch {
      this.metrics.attempt(undefined, 'UNREADABLE_RESPONSE');
      return unreadable(this.clock);
    }
    this.metrics.attempt(result.resultCode ?? `(${result.resultStatus})`);
    return { type: 'ANSWERED', now: this.clock.now(), result, random: Math.random() };
  }
}

/**
 * What D-Store receives for one notification: its requestId, the order, and only what changed, each under D-Store's
 * documented name (the ready time under READY_TIME_FIELD). Nothing else is ever sent.
 */
export function notifyRequestOf(
  order: OrderRecord,
  notification: NotificationRecord,
): NotifyOrderChangeRequest {
  const change = notification.change ?? {};
  return {
    requestId: notification.requestId,
    requestOrderId: order.requestOrderId,
    ...(change.shortOrderNumber === undefined ? {} : { shortOrderNumber: change.shortOrderNumber }),
    ...(notification.orderStatus === undefined ? {} : { orderStatus: notification.orderStatus }),
    ...(change.deliveryStatus === undefined ? {} : { deliveryStatus: change.deliveryStatus }),
    ...(change.refundAmount === undefined
      ? {}
      : {
          refundAmount: {
            value: change.refundAmount.value,
            currency: change.refundAmount.currency,
          },
        }),
    ...(change.readyTime === undefined ? {} : { [READY_TIME_FIELD]: change.readyTime }),
  };
}

function unreadable(clock: Clock): DeliveryEvent {
  return {
    type: 'NO_ANSWER',
    now: clock.now(),
    cause: 'UNREADABLE_RESPONSE',
    random: Math.random(),
  };
}

function isTimeout(error: unknown): boolean {
  const name = (error as { name?: string })?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}
