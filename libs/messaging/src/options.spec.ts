import { BaseServiceConfig, loadConfig } from '@tillbus/config';
import { describe, expect, it } from 'vitest';
import { messagingOptionsFromConfig } from './options';

describe('messagingOptionsFromConfig', () => {
  it('maps the common settings of a service config onto the messaging options', () => {
    const config = loadConfig(BaseServiceConfig, {
      NATS_URL: 'nats://a:4222,nats://b:4222',
      NATS_USER: 'svc',
      NATS_PASSWORD: 'pw',
      BUS_REQUEST_TIMEOUT_MS: '1234',
      SHUTDOWN_GRACE_MS: '5678',
      STREAM_REPLICAS: '3',
    });
    const streams = [{ name: 'TILLBUS_X', subjects: ['tillbus.events.x.>'] }];
    const buckets = [{ name: 'tillbus_x_things', ttlMs: 1000 }];
    expect(messagingOptionsFromConfig('x-service', config, { streams, buckets })).toEqual({
      service: 'x-service',
      servers: 'nats://a:4222,nats://b:4222',
      user: 'svc',
      pass: 'pw',
      requestTimeoutMs: 1234,
      shutdownGraceMs: 5678,
      streamReplicas: 3,
      streams,
      buckets,
    });
  });

  it('leaves credentials, streams and buckets out when there are none (the defaults apply)', () => {
    const options = messagingOptionsFromConfig('y', loadConfig(BaseServiceConfig, {}));
    expect(options).toEqual({
      service: 'y',
      servers: 'nats://127.0.0.1:4222',
      user: undefined,
      pass: undefined,
      requestTimeoutMs: 5000,
      shutdownGraceMs: 25_000,
      streamReplicas: 1,
    });
    expect('streams' in options || 'buckets' in options).toBe(false);
  });
});
