import { Kvm } from '@nats-io/kv';
import fc from 'fast-check';
import { jetstream } from '@nats-io/jetstream';
import { easycardKeySubject, type SessionView, SUBJECTS } from '@tillbus/contracts';
import { SIGN_ON_VALIDITY_MS } from '@tillbus/result-codes';
import {
  promtoolCheckMetrics,
  startTestNatsServer,
  waitFor,
  type TestNatsServer,
} from '@tillbus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS } from '../src/metrics';
import { SESSIONS_BUCKET } from '../src/sessions/session-store';
import type { KeyRelease } from '../src/sessions/key-release.service';
import { randomIv, startSimulatorProcess, type SimProcess } from './support/intella-sim';
import {
  BusProbe,
  HOUR,
  T0,
  metricValue,
  serviceEnv,
  startInProcess,
  type InProcessService,
} from './support/service';

const MCH = 'ACCOUNT001';
const READERS = ['01300001', '01300002', '01300003', '01300004', '01300005'];
let nats: TestNatsServer;
let sim: SimProcess;
let app: InProcessService;
let pos: BusProbe;

const list = async () =>
  (await pos.request<{ sessions: SessionView[]; total: number }>(SUBJECTS.easycard.sessionList, {}))
    .sessions;
const get = (deviceId: string) =>
  pos.request<SessionView>(SUBJECTS.easycard.sessionGet, { deviceId });
const allIn = async (state: string, count = READERS.length) => {
  const sessions = await list();
  return sessions.filter((s) => s.state === state).length === count ? sessions : undefined;
};
const signOnCounts = async () => (await sim.readers()).map((reader) => reader.signOnRequests);

beforeAll(async () => {
  nats = await startTestNatsServer();
  sim = await startSimulatorProcess({
    merchants: [
      { mchId: MCH, password: 'trade-pw-1', iv: randomIv(), readerCount: READERS.length },
    ],
  });
  pos = await BusProbe.connect(nats.url);
  // settlement has its own suite; here it would only overlap the sign-ons under test
  app = await startInProcess(serviceEnv(nats.url, sim, { EASYCARD_SETTLEMENT_ENABLED: 'false' }));
});
afterAll(async () => {
  await app?.close();
  await pos?.close();
  await sim?.stop();
  await nats?.dispose();
});

describe('easycard-session: discovery, sign-on and the bus API', () => {
  it('discovers the readers with DeviceQuery at boot and signs each on once', async () => {
    const sessions = await waitFor(() => allIn('signed'), { what: 'every reader signed on' });
    expect(sessions.map((s) => s.deviceId)).toEqual(READERS);
    for (const session of sessions) {
      expect(session).toMatchObject({
        mchId: MCH,
        usable: true,
        hasKey: true,
        source: 'discovery',
        signedAt: new Date(T0).toISOString(),
        expiresAt: new Date(T0 + SIGN_ON_VALIDITY_MS).toISOString(),
        secondsUntilExpiry: 30 * 3600,
      });
      expect(session.reader.newDeviceId).toMatch(/^\d{16}$/);
    }
    expect(await signOnCounts()).toEqual([1, 1, 1, 1, 1]);
    await waitFor(() => pos.events.filter((e) => e.type === 'signed-on').length === 5, {
      what: 'five signed-on events',
    });
    const event = pos.eventsFor(READERS[0], 'signed-on')[0];
    expect(event).toMatchObject({ deviceId: READERS[0], mchId: MCH, state: 'signed' });
    expect(event.expiresAt).toBe(new Date(T0 + SIGN_ON_VALIDITY_MS).toISOString());
  });

  it('session.get shows status and expiry, never the key', async () => {
    const keys = await sim.issuedKeys();
    const session = await get(READERS[0]);
    expect(session.state).toBe('signed');
    expect(JSON.stringify(session)).not.toContain(keys[READERS[0]][0]);
    expect(Object.keys(session)).not.toContain('newAesKey');
  });

  it('keeps NewAESKey sealed with AES-256-GCM in KV and releases it only on session.key', async () => {
    const keys = await sim.issuedKeys();
    const kv = await new Kvm(jetstream(pos.nc)).open(SESSIONS_BUCKET);
    const raw = (await kv.get(READERS[1]))!.string();
    expect(raw).not.toContain(keys[READERS[1]][0]);
    expect(JSON.parse(raw).key).toMatchObject({ alg: 'A256GCM', kid: expect.any(String) });
    const released = await pos.request<KeyRelease>(easycardKeySubject(READERS[1]), {
      deviceId: READERS[1],
    });
    expect(released).toMatchObject({
      deviceId: READERS[1],
      mchId: MCH,
      newAesKey: keys[READERS[1]][0],
      expiresAt: new Date(T0 + SIGN_ON_VALIDITY_MS).toISOString(),
    });
    expect(metricValue(await app.metrics(), METRICS.keyReleases, { result: 'released' })).toBe(1);
  });

  it('does not renew before the margin', async () => {
    app.clock.set(T0 + 28 * HOUR - 60_000);
    await app.ticks(3);
    expect(await signOnCounts()).toEqual([1, 1, 1, 1, 1]);
    expect(pos.events.filter((e) => e.type === 'renewed')).toHaveLength(0);
  });

  it('renews inside the margin (2 h before expiry): exactly one SignOn per reader', async () => {
    const renewedAt = app.clock.set(T0 + 28 * HOUR + 60_000);
    const sessions = await waitFor(
      async () => {
        const all = await list();
        return all.every((s) => s.state === 'signed' && s.renewals === 1) ? all : undefined;
      },
      { what: 'every reader renewed' },
    );
    for (const session of sessions)
      expect(session.expiresAt).toBe(new Date(renewedAt + SIGN_ON_VALIDITY_MS).toISOString());
    await app.ticks(3);
    expect(await signOnCounts()).toEqual([2, 2, 2, 2, 2]);
    await waitFor(() => pos.events.filter((e) => e.type === 'renewed').length === 5, {
      what: 'renewed events',
    });
    const text = await app.metrics();
    expect(metricValue(text, METRICS.renewals, { outcome: 'SUCCESS' })).toBe(5);
    expect(metricValue(text, METRICS.signOns, { outcome: 'SUCCESS', reason: 'OK' })).toBe(10);
    expect(metricValue(text, METRICS.earliestExpiry)).toBe(30 * 3600);
    // the released key is the one the renewal brought
    const keys = await sim.issuedKeys();
    const released = await pos.request<KeyRelease>(easycardKeySubject(READERS[2]), {
      deviceId: READERS[2],
    });
    expect(released.newAesKey).toBe(keys[READERS[2]][1]);
  });

  it('an intella outage spanning the expiry shows expired, and recovers when intella returns', async () => {
    const renewedAt = T0 + 28 * HOUR + 60_000;
    const expiresAt = renewedAt + SIGN_ON_VALIDITY_MS;
    await sim.addFault({ kind: 'unavailable' });
    app.clock.set(expiresAt - 2 * HOUR + 60_000);
    const failed = await waitFor(() => allIn('failed'), { what: 'renewals failing' });
    for (const session of failed) {
      expect(session.usable).toBe(true);
      expect(session.failure).toMatchObject({
        outcome: 'RETRYABLE',
        reason: 'UNAVAILABLE',
        needsOperator: false,
      });
      expect(session.failure!.retryAt).not.toBeNull();
    }
    let text = await app.metrics();
    expect(metricValue(text, METRICS.renewals, { outcome: 'RETRYABLE' })).toBe(5);
    expect(metricValue(text, METRICS.sessions, { state: 'failed' })).toBe(5);

    app.clock.set(expiresAt - 30 * 60_000);
    await waitFor(() => pos.events.filter((e) => e.type === 'expiring').length === 5, {
      what: 'expiring events',
    });
    text = await app.metrics();
    expect(metricValue(text, METRICS.earliestExpiry)).toBeLessThan(3600);

    app.clock.set(expiresAt + 60_000);
    const expired = await waitFor(() => allIn('expired'), { what: 'sessions expired' });
    expect(
      expired.every((s) => !s.usable && s.expiresAt === new Date(expiresAt).toISOString()),
    ).toBe(true);
    await waitFor(() => pos.events.filter((e) => e.type === 'expired').length === 5, {
      what: 'expired events',
    });
    // The gauges follow the sessions bucket through its watch: a moment after the events. One scrape is read
    // whole: intella is still down, and a sign-on retry moves a reader to `signing` for the time it takes.
    text = await waitFor(
      async () => {
        const scraped = await app.metrics();
        return metricValue(scraped, METRICS.sessions, { state: 'expired' }) === 5
          ? scraped
          : undefined;
      },
      { what: 'five sessions counted expired' },
    );
    expect(metricValue(text, METRICS.unusable)).toBe(5);
    expect(metricValue(text, METRICS.earliestExpiry)).toBeLessThan(0);
    expect(await pos.error(easycardKeySubject(READERS[0]), { deviceId: READERS[0] })).toMatchObject(
      {
        code: 'SESSION_NOT_USABLE',
      },
    );

    await sim.clearFaults();
    const back = app.clock.set(expiresAt + 2 * HOUR);
    const signed = await waitFor(() => allIn('signed'), { what: 'sign-on after the outage' });
    for (const session of signed)
      expect(session.expiresAt).toBe(new Date(back + SIGN_ON_VALIDITY_MS).toISOString());
    await waitFor(() => pos.events.filter((e) => e.type === 'signed-on').length === 10, {
      what: 'signed-on events after recovery',
    });
    text = await app.metrics();
    expect(metricValue(text, METRICS.unusable)).toBe(0);
    expect(metricValue(text, METRICS.earliestExpiry)).toBe(30 * 3600);
  });

  it('signon: declines a valid sign-on without force, renews with force', async () => {
    const before = (await sim.reader(READERS[3])).signOnRequests;
    const declined = await pos.request<{ attempted: boolean; reason: string }>(
      SUBJECTS.easycard.signon,
      {
        deviceId: READERS[3],
      },
    );
    expect(declined).toMatchObject({ attempted: false, reason: 'ALREADY_SIGNED_ON' });
    const forced = await pos.request<{ attempted: boolean; outcome: string; session: SessionView }>(
      SUBJECTS.easycard.signon,
      { deviceId: READERS[3], force: true },
    );
    expect(forced).toMatchObject({
      attempted: true,
      outcome: 'SUCCESS',
      session: { state: 'signed' },
    });
    expect((await sim.reader(READERS[3])).signOnRequests).toBe(before + 1);
  });

  it('registers a reader over the bus and signs it on', async () => {
    await sim.addReader(MCH, 'BUS-READER-1');
    const registered = await pos.request<SessionView>(SUBJECTS.easycard.readersRegister, {
      deviceId: 'BUS-READER-1',
    });
    expect(registered).toMatchObject({ deviceId: 'BUS-READER-1', mchId: MCH, source: 'bus' });
    await waitFor(async () => (await get('BUS-READER-1')).state === 'signed', {
      what: 'bus reader signed on',
    });
    // registering again is idempotent
    expect(
      await pos.request<SessionView>(SUBJECTS.easycard.readersRegister, {
        deviceId: 'BUS-READER-1',
        mchId: MCH,
      }),
    ).toMatchObject({ state: 'signed' });
    const filtered = await pos.request<{ total: number }>(SUBJECTS.easycard.sessionList, {
      state: 'expired',
    });
    expect(filtered.total).toBe(0);
  });

  it('runs DeviceQuery again after the discovery interval and signs on a reader intella added', async () => {
    await sim.addReader(MCH, 'LATE-READER');
    await app.ticks(3);
    expect(
      await pos.error(SUBJECTS.easycard.sessionGet, { deviceId: 'LATE-READER' }),
    ).toMatchObject({
      code: 'NOT_FOUND',
    });
    app.clock.advance(25 * HOUR); // EASYCARD_DISCOVERY_INTERVAL_MS is 24 h here
    await waitFor(
      async () => {
        const list = await pos.request<{ sessions: SessionView[] }>(
          SUBJECTS.easycard.sessionList,
          {},
        );
        return list.sessions.find((s) => s.deviceId === 'LATE-READER' && s.state === 'signed');
      },
      { what: 'the late reader discovered and signed on' },
    );
    expect((await get('LATE-READER')).source).toBe('discovery');
  });

  it.each([
    [SUBJECTS.easycard.sessionGet, {}, 'PARAM_ILLEGAL', 'payload.deviceId'],
    [SUBJECTS.easycard.sessionGet, { deviceId: 'a.b' }, 'PARAM_ILLEGAL', 'deviceId must be'],
    [SUBJECTS.easycard.sessionGet, { deviceId: 'x', extra: 1 }, 'PARAM_ILLEGAL', 'payload.extra'],
    [SUBJECTS.easycard.sessionGet, { deviceId: 'NOPE' }, 'NOT_FOUND', 'no such EasyCard reader'],
    [easycardKeySubject('NOPE'), { deviceId: 'NOPE' }, 'NOT_FOUND', 'NOPE'],
    // the subject names the reader the permissions allow; the payload cannot name another
    [
      easycardKeySubject('NOPE'),
      { deviceId: 'OTHER' },
      'PARAM_ILLEGAL',
      'is not the reader this subject names',
    ],
    [SUBJECTS.easycard.sessionList, { state: 'asleep' }, 'PARAM_ILLEGAL', 'payload.state'],
    [SUBJECTS.easycard.sessionList, { limit: 0 }, 'PARAM_ILLEGAL', 'payload.limit'],
    [SUBJECTS.easycard.signon, { deviceId: 'NOPE' }, 'NOT_FOUND', 'NOPE'],
    [
      SUBJECTS.easycard.signon,
      { deviceId: READERS[0], force: 'yes' },
      'PARAM_ILLEGAL',
      'payload.force',
    ],
    [
      SUBJECTS.easycard.readersRegister,
      { deviceId: 'R1', mchId: 'OTHER' },
      'UNKNOWN_MERCHANT',
      'OTHER',
    ],
    [SUBJECTS.easycard.readersRegister, { deviceId: '' }, 'PARAM_ILLEGAL', 'payload.deviceId'],
  ])('%s %j -> %s', async (subject, payload, code, message) => {
    const error = await pos.error(subject, payload);
    expect(error.code).toBe(code);
    expect(error.message).toContain(message);
  });

  it('answers arbitrary payloads on every subject with a documented code, and keeps serving', async () => {
    const documented = [
      'PARAM_ILLEGAL',
      'NOT_FOUND',
      'UNKNOWN_MERCHANT',
      'MERCHANT_REQUIRED',
      'READER_CONFLICT',
    ];
    const subjects = Object.values(SUBJECTS.easycard);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...subjects),
        fc.oneof(
          fc.jsonValue(),
          fc.record(
            {
              deviceId: fc.string(),
              force: fc.jsonValue(),
              state: fc.string(),
              limit: fc.jsonValue(),
            },
            { requiredKeys: [] },
          ),
        ),
        async (subject, payload) => {
          try {
            await pos.request(subject, payload, 5000);
          } catch (error) {
            expect(documented).toContain((error as { code: string }).code);
          }
        },
      ),
      { numRuns: 60 },
    );
    expect((await get(READERS[0])).state).toBe('signed');
  });

  it('never puts a key in a log line or an event (debug logs, live events and the stream scanned)', async () => {
    const issued = Object.values(await sim.issuedKeys()).flat();
    expect(issued.length).toBeGreaterThanOrEqual(15);
    // the scan means something: the answers that carried the keys were logged, redacted
    expect(
      app.logs.some((line) => line.includes('intella answer') && line.includes('[REDACTED]')),
    ).toBe(true);
    const stream = await pos.streamContents();
    expect(stream.length).toBeGreaterThanOrEqual(pos.rawEvents.length);
    const haystacks = [app.logs.join('\n'), pos.rawEvents.join('\n'), stream.join('\n')];
    for (const key of issued) for (const text of haystacks) expect(text).not.toContain(key);
    for (const text of haystacks) expect(text).not.toMatch(/NewAESKey\\?":\\?"[0-9a-f]/i);
  });

  it('serves metrics that pass promtool, with bounded labels', async () => {
    const text = await app.metrics();
    const check = promtoolCheckMetrics(text);
    expect(check.ok, check.output).toBe(true);
    for (const name of Object.values(METRICS)) expect(text).toContain(`# HELP ${name}`);
    expect(text).not.toContain(READERS[0]);
  });
});
