import { Type } from 'class-transformer';
import { IsInt, IsString, Min } from 'class-validator';
import { describe, expect, it } from 'vitest';
import { BaseServiceConfig } from './base-service-config';
import { ConfigError, loadConfig } from './load-config';

class DemoConfig extends BaseServiceConfig {
  @IsString() DSTORE_URL!: string;
  @Type(() => Number) @IsInt() @Min(1) POLL_INTERVAL_MS = 30_000;
}

describe('loadConfig', () => {
  it('applies defaults and converts numbers', () => {
    const config = loadConfig(DemoConfig, {
      DSTORE_URL: 'http://x',
      OPS_PORT: '9000',
      PATH: '/bin',
    });
    expect(config).toBeInstanceOf(DemoConfig);
    expect(config.OPS_PORT).toBe(9000);
    expect(config.POLL_INTERVAL_MS).toBe(30_000);
    expect(config.NATS_URL).toBe('nats://127.0.0.1:4222');
    expect('PATH' in config).toBe(false);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reports every problem in one error', () => {
    const error = (() => {
      try {
        loadConfig(DemoConfig, {
          STREAM_REPLICAS: '2',
          OPS_PORT: 'abc',
          NATS_URL: 'http://wrong',
          POLL_INTERVAL_MS: '0',
          LOG_LEVEL: 'loud',
        });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    const fields = (error as ConfigError).violations.map((v) => v.field).sort();
    expect(fields).toEqual([
      'DSTORE_URL',
      'LOG_LEVEL',
      'NATS_URL',
      'OPS_PORT',
      'POLL_INTERVAL_MS',
      'STREAM_REPLICAS',
    ]);
    expect((error as ConfigError).message).toMatch(
      /NATS_URL must be one or more comma-separated nats:\/\//,
    );
  });

  it('reads STREAM_REPLICAS as a number', () => {
    expect(loadConfig(DemoConfig, { DSTORE_URL: 'x', STREAM_REPLICAS: '3' }).STREAM_REPLICAS).toBe(
      3,
    );
  });

  it('never echoes a value in the error, so credentials in a bad setting stay out of logs', () => {
    let message = '';
    try {
      loadConfig(DemoConfig, {
        NATS_URL: 'nats://user:S3cretPw@host:4222 x',
        NATS_PASSWORD: '',
        OPS_PORT: 'S3cret2',
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('NATS_URL');
    expect(message).not.toContain('S3cret');
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig(DemoConfig, { DSTORE_URL: 'x', OPS_PORT: '' }).OPS_PORT).toBe(9464);
  });

  it.each(['nats://a:4222', 'nats://a:4222,nats://b:4222', 'tls://nats.example:4443'])(
    'accepts NATS_URL %s',
    (url) => {
      expect(loadConfig(DemoConfig, { DSTORE_URL: 'x', NATS_URL: url }).NATS_URL).toBe(url);
    },
  );

  it('listens on every interface by default and takes OPS_HOST as an IP address', () => {
    expect(loadConfig(DemoConfig, { DSTORE_URL: 'x' }).OPS_HOST).toBe('0.0.0.0');
    for (const host of ['127.0.0.1', '::', '::1', '10.1.2.3'])
      expect(loadConfig(DemoConfig, { DSTORE_URL: 'x', OPS_HOST: host }).OPS_HOST).toBe(host);
  });

  it.each(['localhost', '127.0.0.1:9464', '0.0.0.0 ', 'every'])('refuses OPS_HOST %j', (host) => {
    expect(() => loadConfig(DemoConfig, { DSTORE_URL: 'x', OPS_HOST: host })).toThrow(
      /OPS_HOST must be an IP address to listen on/,
    );
  });
});
