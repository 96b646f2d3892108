import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SessionView, SUBJECTS } from '@tillbus/contracts';
import { ManualClock } from '@tillbus/messaging';
import { startTestNatsServer, waitFor, type TestNatsServer } from '@tillbus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS } from '../src/metrics';
import { randomIv, startSimulatorProcess, type SimProcess } from './support/intella-sim';
import {
  BusProbe,
  metricValue,
  serviceEnv,
  startInProcess,
  type InProcessService,
} from './support/service';

/** An instant in Taiwan time (UTC+8), January 2024. */
const tw = (day: number, hour: number, minute: number) => Date.UTC(2024, 0, day, hour - 8, minute);
const [S1, S2, S3] = ['01300001', '01300002', '01300003'];

const dir = mkdtempSync(join(tmpdir(), 'easycard-settle-'));
const offsetFile = join(dir, 'offset');
let nats: TestNatsServer;
let sim: SimProcess;
let app: InProcessService;
let pos: BusProbe;
const clock = new ManualClock(tw(1, 10, 0));

/** Moves the service's clock and the simulator's (its business days enforce 010117) together. */
async function moveTo(epochMs: number): Promise<void> {
  clock.set(epochMs);
  writeFileSync(offsetFile, String(epochMs - Date.now()));
  await app.ticks(2);
}

const get = (deviceId: string) =>
  pos.request<SessionView>(SUBJECTS.easycard.sessionGet, { deviceId });
const settlements = async (deviceId: string) => (await sim.reader(deviceId)).settlementRequests;

beforeAll(async () => {
  writeFileSync(offsetFile, String(clock.now() - Date.now()));
  nats = await startTestNatsServer();
  sim = await startSimulatorProcess({
    merchants: [{ mchId: 'SETTLE', password: 'settle-pw', iv: randomIv(), readerCount: 3 }],
    args: ['--enforce-settlement', '--clock-offset-file', offsetFile],
  });
  pos = await BusProbe.connect(nats.url);
  app = await startInProcess(
    serviceEnv(nats.url, sim, {
      EASYCARD_SETTLEMENT_TIME: '22:00',
      EASYCARD_CLOSING_TIME: '23:00',
    }),
    clock,
  );
  await waitFor(
    async () => (await Promise.all([S1, S2, S3].map(get))).every((s) => s.state === 'signed'),
    {
      what: 'the readers signed on',
    },
  );
});
afterAll(async () => {
  await app?.close();
  await pos?.close();
  await sim?.stop();
  await nats?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('easycard-session: daily Settlement before closing time', () => {
  it('does not settle before the settlement time', async () => {
    await moveTo(tw(1, 21, 59));
    expect(await Promise.all([S1, S2, S3].map(settlements))).toEqual([0, 0, 0]);
  });

  it('settles every reader once in the window, and records the result', async () => {
    await moveTo(tw(1, 22, 1));
    await waitFor(() => pos.events.filter((e) => e.type === 'settled').length === 3, {
      what: 'three settlements',
    });
    await app.ticks(3);
    expect(await Promise.all([S1, S2, S3].map(settlements))).toEqual([1, 1, 1]);
    const session = await get(S1);
    expect(session.settlement).toMatchObject({
      lastSettledAt: new Date(tw(1, 22, 1)).toISOString(),
      lastAttempt: { day: '2024-01-01', outcome: 'SUCCESS', reason: 'OK' },
      nextAttemptAt: null,
    });
    expect(pos.eventsFor(S1, 'settled')[0]).toMatchObject({
      businessDay: '2024-01-01',
      state: 'signed',
    });
    expect(
      metricValue(await app.metrics(), METRICS.settlements, { outcome: 'SUCCESS', reason: 'OK' }),
    ).toBe(3);
  });

  it('a settled day lets the next day renew', async () => {
    await moveTo(tw(2, 14, 1));
    await waitFor(
      async () => (await Promise.all([S1, S2, S3].map(get))).every((s) => s.renewals === 1),
      {
        what: 'renewals on day 2',
      },
    );
  });

  it('records a failed Settlement: 010117 is its own reason and is not retried that day; a retryable one is', async () => {
    await sim.addFault({ kind: 'unsettled', serviceType: 'Settlement', deviceId: S1 });
    await sim.addFault({ kind: 'unavailable', serviceType: 'Settlement', deviceId: S2, times: 1 });
    await moveTo(tw(2, 22, 1));
    await waitFor(
      async () => (await get(S1)).settlement.lastAttempt?.reason === 'PREVIOUS_DAY_NOT_SETTLED',
      { what: 'S1 settlement failure recorded' },
    );
    expect((await get(S1)).settlement.lastAttempt).toMatchObject({
      day: '2024-01-02',
      outcome: 'FAILED',
    });
    expect((await pos.waitForEvents(S1, 'failed')).at(-1)).toMatchObject({
      operation: 'settlement',
      outcome: 'FAILED',
      reason: 'PREVIOUS_DAY_NOT_SETTLED',
      retryAt: null,
    });
    await waitFor(async () => (await get(S2)).settlement.lastAttempt?.reason === 'UNAVAILABLE', {
      what: 'S2 retryable failure',
    });
    expect((await get(S2)).settlement.nextAttemptAt).toBe(new Date(tw(2, 22, 11)).toISOString());
    await moveTo(tw(2, 22, 12));
    await waitFor(async () => (await get(S2)).settlement.lastAttempt?.outcome === 'SUCCESS', {
      what: 'S2 settled',
    });
    expect(await settlements(S1)).toBe(2);
    const text = await app.metrics();
    expect(
      metricValue(text, METRICS.settlements, {
        outcome: 'FAILED',
        reason: 'PREVIOUS_DAY_NOT_SETTLED',
      }),
    ).toBe(1);
    expect(
      metricValue(text, METRICS.settlements, { outcome: 'RETRYABLE', reason: 'UNAVAILABLE' }),
    ).toBe(1);
  });

  it('does not settle after closing time', async () => {
    await sim.addReader('SETTLE', 'LATE-1');
    await moveTo(tw(2, 23, 10));
    await pos.request(SUBJECTS.easycard.readersRegister, { deviceId: 'LATE-1' });
    await waitFor(async () => (await get('LATE-1')).state === 'signed', {
      what: 'LATE-1 signed on',
    });
    await app.ticks(3);
    expect(await settlements('LATE-1')).toBe(0);
  });

  it('an unsettled day blocks the next day: SignOn answers 010117, and a failing catch-up leaves it blocked', async () => {
    await moveTo(tw(3, 18, 2));
    // blocked by the SignOn's 010117 first, then the catch-up Settlement fails too (the fault is still there)
    await waitFor(
      async () => {
        const s1 = await get(S1);
        return (
          s1.failure?.needsOperator === true && s1.settlement.lastAttempt?.day === '2024-01-03'
        );
      },
      { what: 'S1 blocked after a failed catch-up' },
    );
    const session = await get(S1);
    expect(session).toMatchObject({
      state: 'failed',
      usable: true,
      failure: { operation: 'signon', outcome: 'FAILED', reason: 'PREVIOUS_DAY_NOT_SETTLED' },
    });
    await waitFor(async () => (await get(S2)).renewals === 2 && (await get(S3)).renewals === 2, {
      what: 'the settled readers renewed',
    });
    const text = await app.metrics();
    expect(
      metricValue(text, METRICS.signOns, { outcome: 'FAILED', reason: 'PREVIOUS_DAY_NOT_SETTLED' }),
    ).toBe(1);
    expect(
      metricValue(text, METRICS.settlements, {
        outcome: 'FAILED',
        reason: 'PREVIOUS_DAY_NOT_SETTLED',
      }),
    ).toBe(2);
    expect(metricValue(text, METRICS.blocked, { reason: 'PREVIOUS_DAY_NOT_SETTLED' })).toBe(1);
  });

  it('the next day a catch-up Settlement goes through and the reader signs on again', async () => {
    await sim.clearFaults();
    const eventsBefore = pos.eventsFor(S1).length;
    await moveTo(tw(4, 8, 0));
    await waitFor(async () => (await get(S1)).state === 'signed', { what: 'S1 signed on again' });
    const events = await pos.waitForEvents(S1, undefined, eventsBefore + 3);
    expect(events.slice(eventsBefore).map((e) => e.type)).toEqual([
      'expired',
      'settled',
      'signed-on',
    ]);
    // The gauge is read from the watch-fed session mirror, a few milliseconds behind the record.
    await waitFor(
      async () =>
        metricValue(await app.metrics(), METRICS.blocked, {
          reason: 'PREVIOUS_DAY_NOT_SETTLED',
        }) === undefined,
      { what: 'the blocked-readers gauge cleared' },
    );
  });
});
