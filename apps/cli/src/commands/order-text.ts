import type { DeliveryAddressView, OrderChangeView, OrderView } from '@tillbus/contracts';
import { block, cellText, money, relative, table } from '../format';

/** What `tillbus orders get` prints: the order as D-Store sent it, what D-Store changed since, and what we told it. */
export function orderText(order: OrderView, now: number): string {
  const details = order.order;
  const address = order.deliveryAddress;
  const pushes = order.pushes;
  const refunds = order.refunds ?? [];
  const changes = order.changes ?? [];
  return [
    block([
      ['order', order.requestOrderId],
      ['pos order', order.posOrderId],
      ['status', `${order.status}${order.final ? ' (final)' : ''}`],
      ['channel', `${details.orderChannel} ${details.serviceType}, store ${details.posStoreId}`],
      ['amount', money(details.orderAmount.value, details.orderAmount.currency)],
      [
        fulfilmentLabel(details.serviceType),
        details.expectFulfillmentTime === undefined
          ? undefined
          : `${details.expectFulfillmentTime} (${relative(details.expectFulfillmentTime, now)})`,
      ],
      ['customer', customerText(details.customer)],
      ['address', address === undefined ? undefined : addressText(address)],
      ['delivery', order.deliveryStatus],
      ['pickup code', order.shortOrderNumber],
      [
        'ready at',
        order.readyTime === undefined
          ? undefined
          : `${order.readyTime} (${relative(order.readyTime, now)})`,
      ],
      [
        'refunded',
        order.refunded === undefined || refunds.length === 0
          ? undefined
          : `${money(order.refunded.value, order.refunded.currency)} in ${refunds.length} refund${refunds.length === 1 ? '' : 's'}`,
      ],
      ['created', `${order.createdAt} (${relative(order.createdAt, now)})`],
      ['updated', `${order.updatedAt} (${relative(order.updatedAt, now)})`],
    ]),
    '',
    'products:',
    table(details.orderProducts, [{ header: 'AS SENT BY D-STORE', value: (p) => cellText(p) }]),
    '',
    'history:',
    table(order.history, [
      { header: 'AT', value: (h) => h.at },
      { header: 'STATUS', value: (h) => h.status },
      { header: 'FROM', value: (h) => h.source },
      { header: 'REF', value: (h) => h.ref },
    ]),
    ...(pushes.length > 0
      ? [
          '',
          'changes from D-Store (pushOrderChange):',
          table(pushes, [
            { header: 'AT', value: (p) => p.at },
            {
              header: 'STATUS',
              value: (p) =>
                p.unrecognisedStatus ? `${p.orderStatus} (unrecognised)` : p.orderStatus,
            },
            { header: 'DELIVERY', value: (p) => cellText(p.change?.deliveryStatus) },
            { header: 'ITEMS NOW', value: (p) => cellText(p.change?.updatedOrderProducts) },
            { header: 'REFUND', value: (p) => cellText(refundText(p.change?.refundInfo)) },
            {
              header: 'OUTCOME',
              value: (p) => (p.reason ? `${p.outcome} ${p.reason}` : p.outcome),
            },
            { header: 'REQUEST ID', value: (p) => p.requestId },
          ]),
        ]
      : []),
    ...(refunds.length > 0
      ? [
          '',
          'refunds (merchant):',
          table(refunds, [
            { header: 'AT', value: (r) => r.at },
            { header: 'AMOUNT', value: (r) => money(r.amount.value, r.amount.currency) },
            { header: 'BY', value: (r) => r.requestedBy },
            { header: 'REASON', value: (r) => r.reason ?? '' },
            { header: 'REQUEST ID', value: (r) => r.requestId },
          ]),
        ]
      : []),
    ...(changes.length > 0
      ? [
          '',
          'changes from the POS (pickup code, ready time, refunds, delivery):',
          table(changes, [
            { header: 'AT', value: (c) => c.at },
            { header: 'KIND', value: (c) => c.kind },
            { header: 'CHANGE', value: (c) => changeText(c.change) },
            {
              header: 'OUTCOME',
              value: (c) => (c.reason ? `${c.outcome} ${c.reason}` : c.outcome),
            },
            { header: 'BY', value: (c) => c.requestedBy ?? '' },
          ]),
        ]
      : []),
    ...(order.refused.length > 0
      ? [
          '',
          'refused (the order kept its newer status):',
          table(order.refused, [
            { header: 'AT', value: (r) => r.at },
            { header: 'REPORTED', value: (r) => r.reported },
            { header: 'KEPT', value: (r) => r.current },
            { header: 'WHY', value: (r) => r.reason },
          ]),
        ]
      : []),
    '',
    'notifications to D-Store (notifyOrderChange):',
    order.notifications.length === 0
      ? '  none yet'
      : table(order.notifications, [
          { header: '#', value: (n) => n.seq, right: true },
          { header: 'STATUS', value: (n) => n.orderStatus ?? '' },
          { header: 'CHANGE', value: (n) => (n.change ? changeText(n.change) : '') },
          { header: 'DELIVERY', value: (n) => n.deliveryStatus },
          { header: 'ATTEMPTS', value: (n) => n.attempts, right: true },
          {
            header: 'NEXT',
            value: (n) => (n.nextAttemptAt ? relative(n.nextAttemptAt, now) : ''),
          },
          { header: 'LAST FAILURE', value: (n) => failureText(n.lastFailure) },
          { header: 'REQUEST ID', value: (n) => n.requestId },
        ]),
  ].join('\n');
}

/** `refund 5.00 SGD`, `pickup code A17`, `ready at 2026-…`, `delivery DELIVERING`. */
export function changeText(change: OrderChangeView): string {
  const parts: string[] = [];
  if (change.shortOrderNumber !== undefined) parts.push(`pickup code ${change.shortOrderNumber}`);
  if (change.readyTime !== undefined) parts.push(`ready at ${change.readyTime}`);
  if (change.refundAmount !== undefined)
    parts.push(`refund ${money(change.refundAmount.value, change.refundAmount.currency)}`);
  if (change.deliveryStatus !== undefined) parts.push(`delivery ${change.deliveryStatus}`);
  return parts.join(', ');
}

function fulfilmentLabel(serviceType: string): string {
  if (serviceType === 'PICKUP') return 'pickup at';
  if (serviceType === 'DINEIN') return 'dine-in at';
  return 'wanted at';
}

/** The customer's plain fields (name, phone, ...) as D-Store named them; the address is its own line. */
function customerText(customer: Record<string, unknown> | undefined): string | undefined {
  if (customer === undefined) return undefined;
  const parts = Object.entries(customer)
    .filter(([, v]) => typeof v === 'string' || typeof v === 'number')
    .map(([k, v]) => `${k} ${String(v)}`);
  return parts.length > 0 ? parts.join(', ') : '(no plain fields)';
}

/** `10 Bayfront Avenue, blk 10, #23-05, 018956 (Leave at the concierge) @1.283100,103.860700` */
export function addressText(address: DeliveryAddressView): string {
  const unit =
    address.floorNo !== undefined || address.unitNo !== undefined
      ? `#${[address.floorNo, address.unitNo].filter((x) => x !== undefined).join('-')}`
      : undefined;
  const line = [
    address.addressDetail,
    address.blockNo === undefined ? undefined : `blk ${address.blockNo}`,
    unit,
    address.postCode,
  ]
    .filter((x) => x !== undefined && x !== '')
    .join(', ');
  const note = address.additionalInformation ? ` (${address.additionalInformation})` : '';
  const at =
    address.latitude !== undefined && address.longitude !== undefined
      ? ` @${address.latitude},${address.longitude}`
      : '';
  return `${line || '-'}${note}${at}`;
}

/** A refundInfo with an Amount inside shows as money; anything else as sent. */
function refundText(refundInfo: unknown): unknown {
  if (refundInfo === null || typeof refundInfo !== 'object') return refundInfo;
  for (const value of Object.values(refundInfo)) {
    const amount = value as { value?: unknown; currency?: unknown } | null;
    if (amount && typeof amount.value === 'number' && typeof amount.currency === 'string')
      return money(amount.value, amount.currency);
  }
  return refundInfo;
}

function failureText(failure: OrderView['notifications'][number]['lastFailure']): string {
  if (!failure) return '';
  return failure.cause === 'ANSWER'
    ? `D-Store answered ${failure.resultStatus ?? '?'} ${failure.resultCode ?? ''}`.trim()
    : failure.cause;
}
