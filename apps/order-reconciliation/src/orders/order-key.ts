import { createHash } from 'node:crypto';

// Safe as a KV key and as a subject token alike (the intersection of both alphabets), and short enough for both.
const DIRECT = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * The KV key and subject token of an order. `requestOrderId` is any string up to 255 characters, so ids made only of
 * letters, digits, `_` and `-` (up to 128) are used as they are, and any other id becomes `=` followed by the
 * unpadded base64url SHA-256 of its UTF-8 bytes. `=` never appears in a direct id, so the two forms cannot collide.
 * POS developers publishing lifecycle events compute the same token (docs/services/order-reconciliation.md).
 */
export function orderToken(requestOrderId: string): string {
  if (DIRECT.test(requestOrderId)) return requestOrderId;
  return `=${createHash('sha256').update(requestOrderId, 'utf8').digest('base64url')}`;
}

/** A short stable digest of an order id, used inside notification request ids. */
export function orderDigest(requestOrderId: string): string {
  return createHash('sha256').update(requestOrderId, 'utf8').digest('hex').slice(0, 24);
}
