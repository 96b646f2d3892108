import { createHash } from 'node:crypto';

const TRADE_KEY = /^[0-9a-f]{64}$/;

/** TradeKey = lower-case hex SHA-256 of the trade password's UTF-8 bytes; intella answers 7105 otherwise. */
export function tradeKeyFromPassword(password: string): string {
  return createHash('sha256').update(password, 'utf8').digest('hex');
}

export function isTradeKey(value: unknown): value is string {
  return typeof value === 'string' && TRADE_KEY.test(value);
}
