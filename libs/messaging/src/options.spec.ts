import { BaseServiceConfig, loadConfig } from '@tillbus/config';
import { describe, expect, it } from 'vitest';
import { serviceProvisioning } from './declarations';
import { messagingOptionsFromConfig } from './options';

describe('messagingOptionsFromConfig', () => {
  it('maps the common settings of a service config onto the messaging options', () => {
    const config = loadConfig(BaseServiceConfig, {
      NATS_URL: 'tls://a:4222,tls://b:4222',
      NATS_USER: 'svc',
      NATS_PASSWORD: 'pw',
      BUS_REQUEST_TIMEOUT_MS: '1234',
      SHUTDOWN_GRACE_MS: '5678',
      STREAM_REPLICAS: '3',
      NATS_PROVISIONING: 'apply',
      NATS_INBOX_PREFIX: '_INBOX_svc-blue',
      NATS_TLS_CA_FILE: '/etc/nats-ca/ca.crt',
    });
    const provisioning = serviceProvisioning('edc-command', config);
    expect(messagingOptionsFromConfig('x-service', config, provisioning)).toEqual({
      service: 'x-service',
      servers: 'tls://a:4222,tls://b:4222',
      user: 'svc',
      pass: 'pw',
      requestTimeoutMs: 1234,
      shutdownGraceMs: 5678,
      provisioningMode: 'apply',
      inboxPrefix: '_INBOX_svc-blue',
      tls: { caFile: '/etc/nats-ca/ca.crt' },
      provisioning,
    });
    expect(provisioning.streams.every((s) => s.num_replicas === 3)).toBe(true);
  });

  it('verifies by default, and leaves credentials, TLS and declarations out when there are none', () => {
    const options = messagingOptionsFromConfig('y', loadConfig(BaseServiceConfig, {}));
    expect(options).toEqual({
      service: 'y',
      servers: 'nats://127.0.0.1:4222',
      user: undefined,
      pass: undefined,
      requestTimeoutMs: 5000,
      shutdownGraceMs: 25_000,
      provisioningMode: 'verify',
    });
  });

  it.each([
    [{ NATS_PROVISIONING: 'create' }, /NATS_PROVISIONING must be verify/],
    [{ NATS_INBOX_PREFIX: '_INBOX.x' }, /NATS_INBOX_PREFIX must start with _INBOX/],
    [{ NATS_TLS_CERT_FILE: '/c.pem' }, /NATS_TLS_KEY_FILE must be set together/],
    [{ NATS_TLS_KEY_FILE: '/k.pem' }, /NATS_TLS_CERT_FILE must be set together/],
  ])('refuses %j', (env, message) => {
    expect(() => loadConfig(BaseServiceConfig, env)).toThrow(message);
  });
});
