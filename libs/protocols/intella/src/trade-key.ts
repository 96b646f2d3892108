import { createHash, timingSafeEqual } from 'node:crypto';

const TRADE_KEY = /^[0-9a-f]{64}$/;

/** TradeKey = lower-case hex SHA-256 of the trade password's UTF-8 bytes; intella answers 7105 otherwise. */
export function tradeKeyFromPassword(password: string): string {
  return createHash('sha256').update(password, 'utf8').digest('hex');
}

export function isTradeKey(value: unknown): value is string {
  return typeof value === 'string' && TRADE_KEY.test(value);
}

/** Server side (the simulator): does a received TradeKey match the trade password? Constant-time on the digest. */
export function tradeKeyMatches(received: unknown, password: string): boolean {
  if (!isTradeKey(received)) return false;
  return timingSafeEqual(
    Buffer.from(received, 'hex'),
    Buffer.from(tradeKeyFromPassword(password), 'hex'),
  );
}
