import { ConfigError } from '@tillbus/config';
import { describe, expect, it } from 'vitest';
import { loadOrderReconciliationConfig } from './config';

const REQUIRED = {
  DSTORE_CLIENT_IDS: 'DSTORE-1, DSTORE-2',
  DSTORE_PUBLIC_KEY_REF: 'env:DSTORE_PUBLIC_KEY',
  POS_PRIVATE_KEY_REF: 'pos-private-key',
  POS_CLIENT_ID: 'POS-1',
  DSTORE_BASE_URL: 'https://dstore.example/api',
};

function problems(env: Record<string, string>): string {
  try {
    loadOrderReconciliationConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('order-reconciliation configuration', () => {
  it('reads the required settings and applies the defaults', () => {
    const config = loadOrderReconciliationConfig(REQUIRED);
    expect(config.DSTORE_CLIENT_IDS).toEqual(['DSTORE-1', 'DSTORE-2']);
    expect(config).toMatchObject({
      HTTP_PORT: 8080,
      SIGNATURE_WINDOW_MS: 300_000,
      NOTIFY_MAX_ATTEMPTS: 8,
      NOTIFY_JITTER_RATIO: 0.2,
      MAX_BODY_BYTES: 262_144,
    });
  });

  it('refuses refunds on cancelled orders by default; allow is the only other choice', () => {
    expect(loadOrderReconciliationConfig(REQUIRED).REFUND_ON_CANCELLED).toBe('refuse');
    expect(
      loadOrderReconciliationConfig({ ...REQUIRED, REFUND_ON_CANCELLED: 'allow' })
        .REFUND_ON_CANCELLED,
    ).toBe('allow');
    expect(problems({ ...REQUIRED, REFUND_ON_CANCELLED: 'maybe' })).toMatch(
      /REFUND_ON_CANCELLED must be refuse or allow/,
    );
  });

  it('bounds the HTTP edge by default: timeouts, a connection cap and a per-source limit', () => {
    expect(loadOrderReconciliationConfig(REQUIRED)).toMatchObject({
      HTTP_HEADERS_TIMEOUT_MS: 10_000,
      HTTP_REQUEST_TIMEOUT_MS: 30_000,
      HTTP_KEEP_ALIVE_TIMEOUT_MS: 65_000,
      HTTP_MAX_CONNECTIONS: 1024,
      SOURCE_RATE_LIMIT_PER_SECOND: 200,
      SOURCE_RATE_LIMIT_BURST: 400,
      SOURCE_RATE_LIMIT_MAX_SOURCES: 100_000,
      SOURCE_FROM_FORWARDED_FOR: false,
      REFUSAL_LOG_EVERY: 1000,
    });
    expect(
      loadOrderReconciliationConfig({ ...REQUIRED, SOURCE_FROM_FORWARDED_FOR: '1' })
        .SOURCE_FROM_FORWARDED_FOR,
    ).toBe(true);
  });

  it('names every missing setting at once', () => {
    const message = problems({});
    for (const name of Object.keys(REQUIRED)) expect(message).toContain(name);
  });

  it('refuses a key given by value instead of by reference, without echoing it', () => {
    const message = problems({
      ...REQUIRED,
      POS_PRIVATE_KEY_REF: '-----BEGIN PRIVATE KEY-----\nMIIEvSECRET\n-----END PRIVATE KEY-----',
    });
    expect(message).toContain('POS_PRIVATE_KEY_REF must be a secret reference');
    expect(message).not.toContain('MIIEvSECRET');
  });

  it('checks settings that depend on each other', () => {
    expect(
      problems({ ...REQUIRED, NOTIFY_TIMEOUT_MS: '5000', OUTBOX_ACK_WAIT_MS: '5000' }),
    ).toContain('OUTBOX_ACK_WAIT_MS must be greater than NOTIFY_TIMEOUT_MS');
    expect(
      problems({ ...REQUIRED, NOTIFY_BASE_DELAY_MS: '5000', NOTIFY_MAX_DELAY_MS: '10' }),
    ).toContain('NOTIFY_MAX_DELAY_MS must be >= NOTIFY_BASE_DELAY_MS');
    expect(
      problems({ ...REQUIRED, HTTP_HEADERS_TIMEOUT_MS: '5000', HTTP_REQUEST_TIMEOUT_MS: '1000' }),
    ).toContain('HTTP_REQUEST_TIMEOUT_MS must be >= HTTP_HEADERS_TIMEOUT_MS');
  });

  it.each([
    ['DSTORE_BASE_URL', 'ftp://x'],
    ['DSTORE_CLIENT_IDS', ' , '],
    ['NOTIFY_JITTER_RATIO', '2'],
    ['HTTP_PORT', '70000'],
    ['MAX_BODY_BYTES', '2000000'],
    ['HTTP_REQUEST_TIMEOUT_MS', '0'],
    ['HTTP_HEADERS_TIMEOUT_MS', '0'],
    ['HTTP_KEEP_ALIVE_TIMEOUT_MS', '0'],
    ['HTTP_MAX_CONNECTIONS', '0'],
    ['SOURCE_RATE_LIMIT_PER_SECOND', '0'],
    ['SOURCE_FROM_FORWARDED_FOR', 'yes'],
  ])('refuses %s=%s', (name, value) => {
    expect(problems({ ...REQUIRED, [name]: value })).toContain(name);
  });
});
