import { createHash } from 'node:crypto';

// The order's KV key and subject token is orderSubjectToken (libs/contracts), shared with POS publishers and the CLI.

/** A short stable digest of an order id, used inside notification request ids. */
export function orderDigest(requestOrderId: string): string {
  return createHash('sha256').update(requestOrderId, 'utf8').digest('hex').slice(0, 24);
}
