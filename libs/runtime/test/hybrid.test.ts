import { connect, type NatsConnection } from '@nats-io/transport-node';
import { BaseServiceConfig, loadConfig } from '@tillbus/config';
import { startTestNatsServer, type TestNatsServer } from '@tillbus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusRequestError } from '@tillbus/contracts';
import { requestJson } from '@tillbus/messaging';
import { startService, type RunningService } from '../src';
import { ECHO_SUBJECTS, echoModule, type ReplicaState } from './fixtures/echo-app';

let nats: TestNatsServer;
let client: NatsConnection;
let running: RunningService;
const replica: ReplicaState = { name: 'hybrid', handled: [] };

beforeAll(async () => {
  nats = await startTestNatsServer();
  const config = loadConfig(BaseServiceConfig, { NATS_URL: nats.url, OPS_PORT: '0' });
  running = await startService({
    module: echoModule(config, replica, () => undefined),
    http: { port: 0, host: '127.0.0.1' },
  });
  client = await connect({ servers: nats.url });
});

afterAll(async () => {
  await client?.close();
  await running?.close();
  await nats?.dispose();
});

const request = (subject: string, payload: unknown) =>
  requestJson({ connect: async () => client }, subject, payload, { timeoutMs: 2000 });

describe('a service with an HTTP edge (hybrid app)', () => {
  it('serves HTTP and the bus from one process', async () => {
    expect(running.httpPort).toBeGreaterThan(0);
    await expect(request(ECHO_SUBJECTS.echo, { id: 'h-1' })).resolves.toMatchObject({ id: 'h-1' });
  });

  it('validates bus payloads with the bus pipe', async () => {
    const error = (await request(ECHO_SUBJECTS.echo, { id: 1, extra: true }).catch(
      (e: unknown) => e,
    )) as BusRequestError;
    expect(error.code).toBe('PARAM_ILLEGAL');
    expect(error.message).toMatch(/extra/);
  });

  it('answers a domain error with its own code through the bus filter', async () => {
    const error = (await request(ECHO_SUBJECTS.busy, { id: 'dev-1' }).catch(
      (e: unknown) => e,
    )) as BusRequestError;
    expect(error.code).toBe('DEVICE_BUSY');
    expect(error.details).toEqual({ deviceId: 'dev-1' });
  });
});
