import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BusRequestError,
  EVENT_SUBJECTS,
  type Readiness,
  STREAMS,
  SUBJECTS,
  type TerminalHealth,
} from '@tillbus/contracts';
import { ManualClock } from '@tillbus/messaging';
import { findPromtool, promtoolCheckMetrics, waitFor } from '@tillbus/testing';
import { DeviceHealthController } from '../src/bus/device-health.controller';
import { eventsOn, metric, startReplica, startStack, type Stack } from './harness';

let stack: Stack;
let replica: Awaited<ReturnType<typeof startReplica>>;
const logs: string[] = [];

beforeAll(async () => {
  stack = await startStack({ antomTerminals: 20, adyenTerminals: 10 });
  replica = await startReplica(
    stack,
    { LOG_LEVEL: 'debug' },
    { logWrite: (line) => logs.push(line) },
  );
}, 120_000);

afterAll(async () => {
  await replica?.close();
  await stack?.close();
});

const antom = (terminalId: string, serial: string, extra: Record<string, unknown> = {}) => ({
  terminalId,
  vendor: 'antom',
  vendorId: serial,
  storeId: 'store-A',
  labels: { lane: '1' },
  connection: {
    kind: 'antom',
    baseUrl: stack.antom.url,
    privateKeyRef: stack.refs.posPrivateKey,
    terminalPublicKeyRef: stack.refs.terminalPublicKey,
  },
  ...extra,
});
const adyen = (terminalId: string, poiId: string, storeId = 'store-B') => ({
  terminalId,
  vendor: 'adyen',
  vendorId: poiId,
  storeId,
  connection: {
    kind: 'adyen-local',
    url: stack.adyen!.nexoUrl,
    keyIdentifier: 'tillbussim',
    passphraseRef: stack.refs.adyenPassphrase,
    keyVersion: 1,
  },
});

const refused = async (subject: string, payload: unknown) => {
  try {
    await stack.request(subject, payload);
  } catch (error) {
    return error as BusRequestError;
  }
  throw new Error(`${subject} accepted ${JSON.stringify(payload)}`);
};

describe('registry over the bus', () => {
  it('upserts, reports unresolved secret references, and refuses bad entries naming the field', async () => {
    const first = await stack.request<{ created: boolean; unresolvedSecrets: unknown[] }>(
      SUBJECTS.deviceHealth.terminalsUpsert,
      antom('reg-1', 'ANTOMSIM000001'),
    );
    expect(first).toMatchObject({ created: true, unresolvedSecrets: [] });
    const again = await stack.request<{
      created: boolean;
      terminal: { createdAt: string; updatedAt: string };
    }>(
      SUBJECTS.deviceHealth.terminalsUpsert,
      antom('reg-1', 'ANTOMSIM000001', { storeId: 'store-Z' }),
    );
    expect(again.created).toBe(false);
    const missing = await stack.request<{
      unresolvedSecrets: { field: string; message: string }[];
    }>(SUBJECTS.deviceHealth.terminalsUpsert, {
      ...antom('reg-2', 'ANTOMSIM000002'),
      connection: { ...antom('x', 'y').connection, privateKeyRef: 'env:TILLBUS_NO_SUCH_KEY' },
    });
    expect(missing.unresolvedSecrets).toEqual([
      {
        field: 'connection.privateKeyRef',
        message:
          'secret env:TILLBUS_NO_SUCH_KEY: environment variable TILLBUS_NO_SUCH_KEY is not set',
      },
    ]);
  });

  it.each<[() => unknown, RegExp]>([
    [() => ({ ...antom('bad-1', 'SN'), vendor: 'verifone' }), /payload.vendor/],
    [() => ({ ...antom('bad 2', 'SN') }), /payload.terminalId/],
    [
      () => ({ ...antom('bad-3', 'SN'), connection: { kind: 'antom', baseUrl: 'x' } }),
      /payload.connection.baseUrl.*payload.connection.privateKeyRef/,
    ],
    [
      () => ({
        ...antom('bad-4', 'SN'),
        connection: { ...antom('x', 'y').connection, privateKeyRef: '-----BEGIN PRIVATE KEY-----' },
      }),
      /payload.connection.privateKeyRef: privateKeyRef must be a secret reference/,
    ],
    [
      () => ({ ...adyen('bad-5', 'V400m-1'), vendorId: 'not a poiid' }),
      /payload.vendorId: vendorId must be an Adyen POIID/,
    ],
    [() => ({ ...antom('bad-6', 'SN'), unexpected: true }), /payload.unexpected/],
  ])('refuses bad entry %#', async (payload, message) => {
    const error = await refused(SUBJECTS.deviceHealth.terminalsUpsert, payload());
    expect(error.code).toBe('PARAM_ILLEGAL');
    expect(error.message).toMatch(message);
  });

  it('answers malformed requests with a typed error and keeps serving', async () => {
    const raw = await stack.client.request(SUBJECTS.deviceHealth.readiness, '{not json', {
      timeout: 5000,
    });
    expect(raw.headers?.get('Tillbus-Error')).toBe('PARAM_ILLEGAL');
    for (const [subject, payload] of [
      [SUBJECTS.deviceHealth.readiness, {}],
      [SUBJECTS.deviceHealth.readiness, { terminalId: 'a.b' }],
      [SUBJECTS.deviceHealth.diagnose, { terminalId: 1 }],
      [SUBJECTS.deviceHealth.terminalsList, { limit: 0 }],
      [SUBJECTS.deviceHealth.terminalsList, { status: 'FINE' }],
      [SUBJECTS.deviceHealth.terminalsRemove, []],
    ] as const) {
      expect((await refused(subject, payload)).code).toBe('PARAM_ILLEGAL');
    }
    expect((await refused(SUBJECTS.deviceHealth.readiness, { terminalId: 'nobody' })).code).toBe(
      'NOT_FOUND',
    );
    expect((await refused(SUBJECTS.deviceHealth.diagnose, { terminalId: 'nobody' })).code).toBe(
      'NOT_FOUND',
    );
    expect(
      await stack.request(SUBJECTS.deviceHealth.terminalsRemove, { terminalId: 'nobody' }),
    ).toEqual({
      terminalId: 'nobody',
      removed: false,
    });
  });
});

describe('readiness, diagnosis and events', () => {
  it('answers readiness from the cache without calling the terminal', async () => {
    await stack.request(SUBJECTS.deviceHealth.terminalsUpsert, antom('ready-1', 'ANTOMSIM000003'));
    expect(
      await stack.request<Readiness>(SUBJECTS.deviceHealth.readiness, { terminalId: 'ready-1' }),
    ).toMatchObject({
      status: 'UNKNOWN',
      reasons: ['NOT_YET_DIAGNOSED'],
      stale: false,
    });
    await stack.request(SUBJECTS.deviceHealth.diagnose, { terminalId: 'ready-1' });
    const calls = (await stack.antom.counters()).byTerminal.ANTOMSIM000003;
    for (let i = 0; i < 5; i++) {
      expect(
        await stack.request<Readiness>(SUBJECTS.deviceHealth.readiness, { terminalId: 'ready-1' }),
      ).toMatchObject({
        terminalId: 'ready-1',
        vendor: 'antom',
        vendorId: 'ANTOMSIM000003',
        status: 'READY',
        reasons: [],
        stale: false,
      });
    }
    expect((await stack.antom.counters()).byTerminal.ANTOMSIM000003).toBe(calls);
  });

  it('publishes an event only when status or reasons change', async () => {
    const subject = EVENT_SUBJECTS.terminalHealth('antom', 'events-1');
    await stack.request(SUBJECTS.deviceHealth.terminalsUpsert, antom('events-1', 'ANTOMSIM000004'));
    const diagnose = () =>
      stack.request<TerminalHealth>(SUBJECTS.deviceHealth.diagnose, { terminalId: 'events-1' });
    await diagnose();
    await diagnose();
    expect((await eventsOn(stack.jsm, subject)).count).toBe(1);
    await stack.antom.setFaults('ANTOMSIM000004', { noPaper: true });
    const degraded = await diagnose();
    expect(degraded.changedAt).toBe(degraded.checkedAt);
    await diagnose();
    let events = await eventsOn(stack.jsm, subject);
    expect(events.count).toBe(2);
    expect(events.last).toMatchObject({
      status: 'DEGRADED',
      reasons: ['PRINTER_FAULT'],
      previous: { status: 'READY', reasons: [] },
    });
    await stack.antom.setFaults('ANTOMSIM000004', { noPaper: true, networkDown: true });
    await diagnose();
    await stack.antom.clearFaults();
    const ready = await diagnose();
    events = await eventsOn(stack.jsm, subject);
    expect(events.count).toBe(4);
    expect(events.last).toMatchObject({
      status: 'READY',
      previous: { status: 'DOWN', reasons: ['NETWORK_DOWN', 'PRINTER_FAULT'] },
    });
    expect(ready.changedAt).toBe(ready.checkedAt);
  });

  it('honours Busy: busy is not broken, and a tampered terminal stays DOWN while busy', async () => {
    const poiId = 'V400m-000000001';
    await stack.request(SUBJECTS.deviceHealth.terminalsUpsert, adyen('busy-1', poiId));
    const diagnose = () =>
      stack.request<TerminalHealth>(SUBJECTS.deviceHealth.diagnose, { terminalId: 'busy-1' });
    await stack.adyen!.control('POST', `terminals/${poiId}/transaction`, {});
    expect(await diagnose()).toMatchObject({
      status: 'DEGRADED',
      reasons: ['BUSY'],
      outcome: 'busy',
    });
    await stack.adyen!.control('DELETE', `terminals/${poiId}/transaction`);
    expect(await diagnose()).toMatchObject({ status: 'READY', reasons: [] });
    await stack.adyen!.setFaults(poiId, { tampered: true });
    expect(await diagnose()).toMatchObject({ status: 'DOWN', reasons: ['TAMPERED'] });
    await stack.adyen!.setFaults(poiId, { busy: true });
    expect(await diagnose()).toMatchObject({ status: 'DOWN', reasons: ['TAMPERED', 'BUSY'] });
    await stack.adyen!.clearFaults();
    expect(await diagnose()).toMatchObject({ status: 'READY', reasons: [] });
    expect((await stack.adyen!.counters()).duplicateServiceIds).toBe(0);
  });
});

describe('terminals.list and remove', () => {
  it('filters by vendor, store and status, and pages in terminalId order', async () => {
    for (let i = 1; i <= 5; i++) {
      await stack.request(SUBJECTS.deviceHealth.terminalsUpsert, {
        ...antom(`list-${i}`, `ANTOMSIM00001${i}`),
        storeId: 'store-list',
      });
    }
    await stack.request(
      SUBJECTS.deviceHealth.terminalsUpsert,
      adyen('list-6', 'V400m-000000002', 'store-list'),
    );
    await stack.antom.setFaults('ANTOMSIM000012', { networkDown: true });
    for (const id of ['list-1', 'list-2', 'list-6']) {
      await stack.request(SUBJECTS.deviceHealth.diagnose, { terminalId: id });
    }
    await stack.antom.clearFaults();
    type Page = {
      terminals: { terminalId: string; health: { status: string } }[];
      nextCursor?: string;
    };
    const list = (filter: object) =>
      stack.request<Page>(SUBJECTS.deviceHealth.terminalsList, filter);
    const ids = (page: Page) => page.terminals.map((t) => t.terminalId);

    expect(ids(await list({ storeId: 'store-list' }))).toEqual([
      'list-1',
      'list-2',
      'list-3',
      'list-4',
      'list-5',
      'list-6',
    ]);
    expect(ids(await list({ storeId: 'store-list', vendor: 'adyen' }))).toEqual(['list-6']);
    expect(ids(await list({ storeId: 'store-list', status: 'DOWN' }))).toEqual(['list-2']);
    expect(ids(await list({ storeId: 'store-list', status: 'UNKNOWN' }))).toEqual([
      'list-3',
      'list-4',
      'list-5',
    ]);
    const first = await list({ storeId: 'store-list', limit: 4 });
    expect(ids(first)).toEqual(['list-1', 'list-2', 'list-3', 'list-4']);
    const second = await list({ storeId: 'store-list', limit: 4, cursor: first.nextCursor });
    expect(ids(second)).toEqual(['list-5', 'list-6']);
    expect(second.nextCursor).toBeUndefined();
  });

  it('removes a terminal and its cached health', async () => {
    await stack.request(SUBJECTS.deviceHealth.terminalsUpsert, antom('gone-1', 'ANTOMSIM000005'));
    await stack.request(SUBJECTS.deviceHealth.diagnose, { terminalId: 'gone-1' });
    expect(
      await stack.request(SUBJECTS.deviceHealth.terminalsRemove, { terminalId: 'gone-1' }),
    ).toEqual({
      terminalId: 'gone-1',
      removed: true,
    });
    expect((await refused(SUBJECTS.deviceHealth.readiness, { terminalId: 'gone-1' })).code).toBe(
      'NOT_FOUND',
    );
  });
});

describe('operations', () => {
  it('never logs a secret', async () => {
    await stack.request(SUBJECTS.deviceHealth.terminalsUpsert, adyen('log-1', 'V400m-000000003'));
    await stack.request(SUBJECTS.deviceHealth.diagnose, { terminalId: 'log-1' });
    const text = logs.join('\n');
    expect(text).toContain('terminal health changed');
    expect(text).not.toContain(stack.adyen!.passphrase);
    expect(text).not.toContain('PRIVATE KEY');
    expect(text).not.toContain(stack.adyen!.cloudApiKey);
  });

  it('serves /readyz with its own checks and /metrics that promtool accepts', async () => {
    const ready = (await (await fetch(`http://127.0.0.1:${replica.opsPort}/readyz`)).json()) as {
      checks: Record<string, unknown>;
    };
    expect(ready.checks).toMatchObject({ nats: { ok: true }, registry: { ok: true } });
    const text = await (await fetch(`http://127.0.0.1:${replica.opsPort}/metrics`)).text();
    for (const name of [
      'tillbus_device_health_terminals',
      'tillbus_device_health_active_reasons',
      'tillbus_device_health_diagnosis_duration_seconds',
      'tillbus_device_health_diagnoses_total',
      'tillbus_device_health_host_diagnoses_total',
      'tillbus_device_health_polling_lag_seconds',
    ]) {
      expect(text).toContain(`# HELP ${name} `);
    }
    expect(text).not.toMatch(/terminal_?id=|vendorId=|V400m-0000/);
    if (findPromtool()) expect(promtoolCheckMetrics(text)).toMatchObject({ ok: true });
  });

  it('reports a cached answer older than the limit as UNKNOWN / STALE', async () => {
    const clock = new ManualClock(Date.now());
    const stale = await startReplica(
      stack,
      { STALE_AFTER_INTERVALS: '3', POLL_INTERVAL_MS: '60000' },
      { clock },
    );
    try {
      await stack.request(
        SUBJECTS.deviceHealth.terminalsUpsert,
        antom('stale-1', 'ANTOMSIM000006'),
      );
      // Diagnosed by this replica (whose clock we drive), then read back through it.
      const controller = stale.app.get(DeviceHealthController);
      await controller.diagnose({ terminalId: 'stale-1' });
      expect(await controller.readiness({ terminalId: 'stale-1' })).toMatchObject({
        status: 'READY',
        stale: false,
      });
      clock.advance(3 * 60_000);
      expect(await controller.readiness({ terminalId: 'stale-1' })).toMatchObject({
        status: 'READY',
        stale: false,
      });
      clock.advance(1);
      expect(await controller.readiness({ terminalId: 'stale-1' })).toMatchObject({
        status: 'UNKNOWN',
        reasons: ['STALE'],
        stale: true,
        lastKnown: { status: 'READY', reasons: [] },
      });
      const values = await stale.metrics();
      expect(
        metric(values, 'tillbus_device_health_active_reasons', {
          vendor: 'antom',
          reason: 'STALE',
        }),
      ).toBeGreaterThanOrEqual(1);
      expect(metric(values, 'tillbus_device_health_polling_lag_seconds')).toBeGreaterThanOrEqual(
        180,
      );
    } finally {
      await stale.close();
    }
  });

  it('seeds the registry from a file, and refuses to start on a bad one, naming the field', async () => {
    const good = join(stack.dir, 'seed.yaml');
    writeFileSync(
      good,
      `terminals:\n  - terminalId: seeded-1\n    vendor: antom\n    vendorId: ANTOMSIM000007\n    storeId: s\n    connection:\n      kind: antom\n      baseUrl: ${stack.antom.url}\n      privateKeyRef: ${stack.refs.posPrivateKey}\n      terminalPublicKeyRef: ${stack.refs.terminalPublicKey}\n`,
    );
    const seeded = await startReplica(stack, { TERMINALS_FILE: good });
    await seeded.close();
    expect(
      await stack.request<TerminalHealth>(SUBJECTS.deviceHealth.diagnose, {
        terminalId: 'seeded-1',
      }),
    ).toMatchObject({
      status: 'READY',
    });
    const bad = join(stack.dir, 'bad-seed.json');
    writeFileSync(
      bad,
      JSON.stringify([
        { terminalId: 'x', vendor: 'antom', vendorId: 'S N', storeId: 's', connection: {} },
      ]),
    );
    await expect(startReplica(stack, { TERMINALS_FILE: bad })).rejects.toThrow(
      /terminals\[0\].vendorId/,
    );
  });
});

describe('health events while TILLBUS_TERMINAL_HEALTH refuses them (issue 17)', () => {
  it('the event of a change reaches the stream once it takes events again (one attempt lost it)', async () => {
    const subject = EVENT_SUBJECTS.terminalHealth('antom', 'refused-1');
    const config = (await stack.jsm.streams.info(STREAMS.terminalHealth)).config;
    await stack.jsm.streams.update(STREAMS.terminalHealth, {
      subjects: ['tillbus.test.health-refused.>'],
    });
    // a stand-in answers the publish as a stream that cannot store it (at once, not after a timeout)
    const refusing = stack.client.subscribe(subject, {
      callback: (_error, msg) => {
        msg.respond(JSON.stringify({ error: { code: 503, description: 'refused by the test' } }));
      },
    });
    await stack.client.flush();
    await stack.request(
      SUBJECTS.deviceHealth.terminalsUpsert,
      antom('refused-1', 'ANTOMSIM000015'),
    );
    const health = await stack.request<TerminalHealth>(SUBJECTS.deviceHealth.diagnose, {
      terminalId: 'refused-1',
    });
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await stack.jsm.streams.update(STREAMS.terminalHealth, { subjects: config.subjects });
    refusing.unsubscribe();
    const events = await waitFor(
      async () => {
        const found = await eventsOn(stack.jsm, subject);
        return found.count > 0 ? found : undefined;
      },
      { timeoutMs: 10_000, what: 'the health event in the stream' },
    );
    expect(events.count).toBe(1);
    expect(events.last).toMatchObject({ terminalId: 'refused-1', status: health.status });
    expect(logs.join('\n')).toContain('could not publish a terminal health event');
  }, 30_000);
});
