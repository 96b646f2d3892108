import { Counter } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetricsRegistry } from './metrics';
import { OpsServer } from './ops-server';

let server: OpsServer | undefined;
afterEach(async () => server?.stop());

async function start(ready: () => boolean) {
  const registry = createMetricsRegistry();
  new Counter({ name: 'tillbus_test_things_total', help: 'things', registers: [registry] }).inc(2);
  server = new OpsServer({ port: 0, host: '127.0.0.1', registry, checkTimeoutMs: 100 });
  server.addReadinessCheck({
    name: 'nats',
    check: () => ({ ok: ready(), detail: ready() ? undefined : 'disconnected' }),
  });
  const port = await server.start();
  return `http://127.0.0.1:${port}`;
}

describe('OpsServer', () => {
  it('serves Prometheus text with default and custom metrics', async () => {
    const base = await start(() => true);
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toContain('tillbus_test_things_total 2');
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('answers liveness always and readiness from the checks', async () => {
    let ready = false;
    const base = await start(() => ready);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({
      checks: { nats: { ok: false, detail: 'disconnected' } },
    });
    ready = true;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    server!.markShuttingDown();
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
  });

  it('reports readiness as the tillbus_service_ready gauge, evaluated at every scrape', async () => {
    let ready = false;
    const base = await start(() => ready);
    const gauge = async () =>
      /^tillbus_service_ready (\d)$/m.exec(await (await fetch(`${base}/metrics`)).text())?.[1];
    expect(await gauge()).toBe('0');
    ready = true;
    expect(await gauge()).toBe('1');
    server!.markShuttingDown();
    expect(await gauge()).toBe('0');
  });

  it('is not ready while a startup step is reported, naming it, until the boot is marked started', async () => {
    const base = await start(() => true);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    server!.reportStartup('declare stream TILLBUS_EDC: attempt 1 failed (timeout); retrying');
    const waiting = await fetch(`${base}/readyz`);
    expect(waiting.status).toBe(503);
    expect(await waiting.json()).toMatchObject({
      checks: { startup: { ok: false, detail: expect.stringContaining('TILLBUS_EDC') } },
    });
    server!.markStarted();
    server!.reportStartup('late report');
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });

  it('times out a hung check and refuses other methods and paths', async () => {
    const base = await start(() => true);
    server!.addReadinessCheck({ name: 'hung', check: () => new Promise(() => undefined) });
    const res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({
      checks: { hung: { ok: false, detail: 'no answer within 100 ms' } },
    });
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });
});
