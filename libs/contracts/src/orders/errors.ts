/**
 * The error codes of the order-reconciliation bus API, besides the bus-wide NOT_FOUND and UNAVAILABLE. One meaning
 * per code; each message names the order and the notification.
 */
export const ORDER_RECONCILIATION_ERRORS = {
  CONFLICT: 'the same idempotency key came back with different content',
  REFUSED: 'the order journey refused the reported status; the refusal is recorded on the order',
  NOT_REDELIVERABLE: 'the notification cannot be delivered to D-Store again',
  SUPERSEDED: 'redelivering would tell D-Store an older status after a newer one it already has',
} as const;

export type OrderReconciliationErrorCode = keyof typeof ORDER_RECONCILIATION_ERRORS;
