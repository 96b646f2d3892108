import { orderOutboxConsumer } from '@tillbus/messaging';
import { describe, expect, it } from 'vitest';
import { OUTBOX_FILTER } from './names';

describe('the declared outbox consumer', () => {
  it('takes exactly the notify events order-reconciliation publishes to its outbox', () => {
    expect(orderOutboxConsumer({}).filterSubject).toBe(OUTBOX_FILTER);
  });
});
