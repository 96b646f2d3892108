import { describe, expect, it } from 'vitest';
import { defaultInboxPrefix, safeConnectionOptions } from './connection';

const base = {
  servers: 'nats://a:4222, nats://b:4222',
  requestTimeoutMs: 1000,
  shutdownGraceMs: 0,
};

describe('safeConnectionOptions', () => {
  it('gives each service its own reply inbox prefix, which NATS permissions can reserve for it', () => {
    const options = safeConnectionOptions({ ...base, service: 'edc-command' });
    expect(options.inboxPrefix).toBe('_INBOX_edc-command');
    expect(options.servers).toEqual(['nats://a:4222', 'nats://b:4222']);
    expect(options.maxReconnectAttempts).toBe(-1);
  });

  it('takes an explicit prefix, and falls back to _INBOX for a name that cannot be a subject token', () => {
    expect(
      safeConnectionOptions({ ...base, service: 'x', inboxPrefix: '_INBOX_custom' }).inboxPrefix,
    ).toBe('_INBOX_custom');
    expect(defaultInboxPrefix('two words')).toBe('_INBOX');
    expect(defaultInboxPrefix('a.b')).toBe('_INBOX');
  });
});
