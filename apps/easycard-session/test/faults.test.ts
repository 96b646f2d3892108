import { type SessionView, SUBJECTS } from '@tillbus/contracts';
import { startTestNatsServer, waitFor, type TestNatsServer } from '@tillbus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS } from '../src/metrics';
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

interface FaultCase {
  reader: string;
  fault: string;
  state: 'signed' | 'failed';
  outcome: string;
  reason: string;
  /** Not retried automatically: an operator must act. */
  blocked?: boolean;
  /** SignOn requests the simulator sees for the first attempt (the Retry rule resends). */
  requests?: number;
}

const reader = (n: number) => `0130${String(n).padStart(4, '0')}`;

// Every scripted fault of the issue, one reader each, scripted at simulator start.
const CASES: FaultCase[] = [
  {
    reader: reader(1),
    fault: 'bad-trade-key',
    state: 'failed',
    outcome: 'CONFIG_ERROR',
    reason: 'BAD_TRADE_KEY',
    blocked: true,
  },
  {
    reader: reader(2),
    fault: 'decrypt-fail',
    state: 'failed',
    outcome: 'CONFIG_ERROR',
    reason: 'DECRYPTION_FAILED',
    blocked: true,
  },
  {
    reader: reader(3),
    fault: 'system-error',
    state: 'failed',
    outcome: 'CONFIG_ERROR',
    reason: 'PUBLIC_KEY_ERROR',
    blocked: true,
  },
  {
    reader: reader(4),
    fault: 'unavailable',
    state: 'failed',
    outcome: 'RETRYABLE',
    reason: 'UNAVAILABLE',
  },
  { reader: reader(5), fault: 'ongoing', state: 'failed', outcome: 'UNKNOWN', reason: 'ONGOING' },
  {
    reader: reader(6),
    fault: 'retry,times=1',
    state: 'signed',
    outcome: 'SUCCESS',
    reason: 'OK',
    requests: 2,
  },
  {
    reader: reader(7),
    fault: 'retry',
    state: 'failed',
    outcome: 'RETRYABLE',
    reason: 'RETRY_REQUIRED',
    requests: 3,
  },
  {
    reader: reader(8),
    fault: 'reader-in-use',
    state: 'failed',
    outcome: 'RETRYABLE',
    reason: 'READER_IN_USE',
  },
  {
    reader: reader(9),
    fault: 'slow,delay=4000',
    state: 'failed',
    outcome: 'RETRYABLE',
    reason: 'TIMEOUT',
  },
  {
    reader: reader(10),
    fault: 'no-answer',
    state: 'failed',
    outcome: 'RETRYABLE',
    reason: 'TIMEOUT',
  },
  {
    reader: reader(11),
    fault: 'deactivated',
    state: 'failed',
    outcome: 'CONFIG_ERROR',
    reason: 'DEVICE_DEACTIVATED',
    blocked: true,
  },
  {
    reader: reader(12),
    fault: 'dongle-mismatch',
    state: 'failed',
    outcome: 'CONFIG_ERROR',
    reason: 'DONGLE_ID_MISMATCH',
    blocked: true,
  },
  {
    reader: reader(13),
    fault: 'corrupt-response',
    state: 'failed',
    outcome: 'CONFIG_ERROR',
    reason: 'RESPONSE_UNREADABLE',
    blocked: true,
  },
  {
    reader: reader(14),
    fault: 'http-500',
    state: 'failed',
    outcome: 'RETRYABLE',
    reason: 'HTTP_5XX',
  },
  {
    reader: reader(15),
    fault: 'failed',
    state: 'failed',
    outcome: 'RETRYABLE',
    reason: 'INTELLA_FAILED',
  },
  {
    reader: reader(16),
    fault: 'slow,delay=200,times=1',
    state: 'signed',
    outcome: 'SUCCESS',
    reason: 'OK',
  },
  {
    reader: reader(17),
    fault: 'card-read-error,times=1',
    state: 'signed',
    outcome: 'SUCCESS',
    reason: 'OK',
    requests: 2,
  },
  // intella as it really answers (protocols.md §6) and as a newer intella might: still read, with the code
  {
    reader: reader(19),
    fault: 'bare-status',
    state: 'failed',
    outcome: 'CONFIG_ERROR',
    reason: 'DECRYPTION_FAILED',
    blocked: true,
  },
  {
    reader: reader(20),
    fault: 'escaped-response',
    state: 'signed',
    outcome: 'SUCCESS',
    reason: 'OK',
  },
  {
    reader: reader(21),
    fault: 'unknown-values',
    state: 'signed',
    outcome: 'SUCCESS',
    reason: 'OK',
  },
  {
    reader: reader(22),
    fault: 'unknown-status',
    state: 'failed',
    outcome: 'UNKNOWN',
    reason: 'UNKNOWN_STATUS_CODE',
  },
];
const UNSETTLED = reader(18);
const READER_COUNT = 22;

let nats: TestNatsServer;
let sim: SimProcess;
let app: InProcessService;
let pos: BusProbe;
let env: Record<string, string>;

const get = (deviceId: string) =>
  pos.request<SessionView>(SUBJECTS.easycard.sessionGet, { deviceId });

beforeAll(async () => {
  nats = await startTestNatsServer();
  sim = await startSimulatorProcess({
    merchants: [
      { mchId: 'FAULTS', password: 'faults-pw', iv: randomIv(), readerCount: READER_COUNT },
      { mchId: 'WRONGPW', password: 'the-right-one', iv: randomIv(), readers: ['W0001', 'W0002'] },
    ],
    args: [
      ...CASES.flatMap((c) => ['--fault', `${c.fault},device=${c.reader}`]),
      '--fault',
      `unsettled,service=SignOn,device=${UNSETTLED},times=1`,
    ],
  });
  pos = await BusProbe.connect(nats.url);
  env = serviceEnv(nats.url, sim, { TEST_TP_WRONGPW: 'not-the-password' });
  app = await startInProcess(env);
});
afterAll(async () => {
  await app?.close();
  await pos?.close();
  await sim?.stop();
  await nats?.dispose();
});

describe('easycard-session: every scripted intella fault', () => {
  it('all first attempts finish', async () => {
    await waitFor(
      async () => {
        const { sessions } = await pos.request<{ sessions: SessionView[] }>(
          SUBJECTS.easycard.sessionList,
          {
            mchId: 'FAULTS',
          },
        );
        return (
          sessions.length === READER_COUNT &&
          sessions.every(
            (s) => s.inFlight === null && s.state !== 'unsigned' && s.state !== 'signing',
          )
        );
      },
      { timeoutMs: 30_000, what: 'every first sign-on to finish' },
    );
  });

  it.each(CASES)('$fault on $reader -> $state $outcome $reason', async (c) => {
    const session = await get(c.reader);
    expect(session.state).toBe(c.state);
    if (c.state === 'failed') {
      expect(session.failure).toMatchObject({
        operation: 'signon',
        outcome: c.outcome,
        reason: c.reason,
        needsOperator: c.blocked === true,
      });
      expect(session.failure!.retryAt === null).toBe(c.blocked === true);
      const failed = await pos.waitForEvents(c.reader, 'failed');
      expect(failed[0]).toMatchObject({
        operation: 'signon',
        outcome: c.outcome,
        reason: c.reason,
      });
      expect(failed[0].retryAt === null).toBe(c.blocked === true);
    } else {
      expect(session.usable).toBe(true);
      expect(await pos.waitForEvents(c.reader, 'signed-on')).toHaveLength(1);
    }
    const text = await app.metrics();
    expect(
      metricValue(text, METRICS.signOns, { outcome: c.outcome, reason: c.reason }),
    ).toBeGreaterThanOrEqual(1);
    const blockedAlike = CASES.filter((o) => o.blocked && o.reason === c.reason).length;
    if (c.blocked)
      expect(metricValue(text, METRICS.blocked, { reason: c.reason })).toBe(blockedAlike);
    const stats = await sim.reader(c.reader);
    expect(stats.signOnRequests).toBe(c.requests ?? 1);
  });

  it('a bare StatusCode body is counted by its code, an unknown code as other', async () => {
    const text = await app.metrics();
    // decrypt-fail (an unencrypted header) and bare-status (the text 8003) both
    expect(
      metricValue(text, METRICS.intellaRequests, { service_type: 'SignOn', result: '8003' }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      metricValue(text, METRICS.intellaRequests, { service_type: 'SignOn', result: 'other' }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('the Retry rule resends with the returned Retry value', async () => {
    expect((await sim.reader(reader(6))).retries).toBe(1);
    expect((await sim.reader(reader(7))).retries).toBe(2);
  });

  it('TIMEOUT counts both timeouts; intella requests are counted by StatusCode', async () => {
    const text = await app.metrics();
    expect(metricValue(text, METRICS.signOns, { outcome: 'RETRYABLE', reason: 'TIMEOUT' })).toBe(2);
    expect(
      metricValue(text, METRICS.intellaRequests, { service_type: 'SignOn', result: '7105' }),
    ).toBe(1);
    expect(
      metricValue(text, METRICS.intellaRequests, { service_type: 'SignOn', result: 'TIMEOUT' }),
    ).toBe(2);
  });

  it('010117 on SignOn is its own reason: a catch-up Settlement runs, then the sign-on succeeds', async () => {
    await waitFor(async () => (await get(UNSETTLED)).state === 'signed', {
      what: 'the unsettled reader signed on',
    });
    const events = (await pos.waitForEvents(UNSETTLED, undefined, 3)).map((e) => [
      e.type,
      e.reason ?? null,
      e.outcome ?? null,
    ]);
    expect(events).toEqual([
      ['failed', 'PREVIOUS_DAY_NOT_SETTLED', 'FAILED'],
      ['settled', null, null],
      ['signed-on', null, null],
    ]);
    expect(pos.eventsFor(UNSETTLED, 'failed')[0].retryAt).toBeNull();
    const text = await app.metrics();
    expect(
      metricValue(text, METRICS.signOns, { outcome: 'FAILED', reason: 'PREVIOUS_DAY_NOT_SETTLED' }),
    ).toBe(1);
    expect(metricValue(text, METRICS.settlements, { outcome: 'SUCCESS', reason: 'OK' })).toBe(1);
    expect((await sim.reader(UNSETTLED)).settlements).toBe(1);
  });

  it('retries the retryable ones after their backoff and never hammers the blocked ones', async () => {
    const before = new Map((await sim.readers()).map((r) => [r.deviceId, r.signOnRequests]));
    app.clock.set(T0 + 11 * 60_000); // past the 10 min first backoff
    const retryable = CASES.filter((c) => c.state === 'failed' && !c.blocked);
    await waitFor(
      async () => {
        const now = new Map((await sim.readers()).map((r) => [r.deviceId, r.signOnRequests]));
        return retryable.every((c) => now.get(c.reader)! > before.get(c.reader)!);
      },
      { timeoutMs: 20_000, what: 'the retryable readers to be retried' },
    );
    await waitFor(async () => (await get(reader(10))).inFlight === null, {
      what: 'the no-answer retry to end',
    });
    app.clock.set(T0 + 5 * HOUR);
    await app.ticks(3);
    await waitFor(async () => {
      const { sessions } = await pos.request<{ sessions: SessionView[] }>(
        SUBJECTS.easycard.sessionList,
        {},
      );
      return sessions.every((s) => s.inFlight === null);
    });
    const after = new Map((await sim.readers()).map((r) => [r.deviceId, r.signOnRequests]));
    for (const c of CASES.filter((c) => c.blocked))
      expect(after.get(c.reader)).toBe(before.get(c.reader));
  });

  it('an operator sign-on retries a blocked reader once the cause is fixed', async () => {
    await sim.clearFaults();
    const reply = await pos.request<{ attempted: boolean; outcome: string; session: SessionView }>(
      SUBJECTS.easycard.signon,
      { deviceId: reader(11) },
    );
    expect(reply).toMatchObject({
      attempted: true,
      outcome: 'SUCCESS',
      session: { state: 'signed' },
    });
    const text = await app.metrics();
    expect(metricValue(text, METRICS.blocked, { reason: 'DEVICE_DEACTIVATED' })).toBeUndefined();
  });

  it('a wrong trade password: DeviceQuery and SignOn answer 7105; fixing it and restarting signs the readers on', async () => {
    const text = await app.metrics();
    expect(
      metricValue(text, METRICS.discoveries, { outcome: 'CONFIG_ERROR', reason: 'BAD_TRADE_KEY' }),
    ).toBe(1);
    for (const deviceId of ['W0001', 'W0002'])
      await pos.request(SUBJECTS.easycard.readersRegister, { deviceId, mchId: 'WRONGPW' });
    // Both readers are signed on concurrently; neither order of their answers is guaranteed.
    for (const deviceId of ['W0001', 'W0002']) {
      await waitFor(async () => (await get(deviceId)).failure?.reason === 'BAD_TRADE_KEY', {
        what: `7105 on ${deviceId}`,
      });
      expect((await get(deviceId)).failure).toMatchObject({
        outcome: 'CONFIG_ERROR',
        needsOperator: true,
      });
    }
    await app.close();
    app = await startInProcess({ ...env, TEST_TP_WRONGPW: 'the-right-one' }, app.clock);
    await waitFor(
      async () =>
        (await get('W0001')).state === 'signed' && (await get('W0002')).state === 'signed',
      { what: 'the readers signed on after the fix' },
    );
  });
});
