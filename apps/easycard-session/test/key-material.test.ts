import { easycardKeySubject, type SessionView, SUBJECTS } from '@tillbus/contracts';
import { ManualClock } from '@tillbus/messaging';
import { startTestNatsServer, waitFor, type TestNatsServer } from '@tillbus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyRelease } from '../src/sessions/key-release.service';
import { randomIv, startSimulatorProcess, type SimProcess } from './support/intella-sim';
import {
  BusProbe,
  T0,
  metricValue,
  serviceEnv,
  startInProcess,
  type InProcessService,
} from './support/service';

// Issue 16 §2: a restart with new key material against a NATS that still holds the sessions left every reader
// "usable" while session.key answered KEY_UNAVAILABLE, and nothing signed them on again for about 28 h.
const MCH = 'ACCOUNT001';
const READERS = ['01300001', '01300002', '01300003'];
let nats: TestNatsServer;
let sim: SimProcess;
let pos: BusProbe;
let app: InProcessService | undefined;

const list = async () =>
  (await pos.request<{ sessions: SessionView[] }>(SUBJECTS.easycard.sessionList, {})).sessions;
const keyOf = (deviceId: string) =>
  pos.request<KeyRelease>(easycardKeySubject(deviceId), { deviceId });

beforeAll(async () => {
  nats = await startTestNatsServer();
  sim = await startSimulatorProcess({
    merchants: [
      { mchId: MCH, password: 'trade-pw-1', iv: randomIv(), readerCount: READERS.length },
    ],
  });
  pos = await BusProbe.connect(nats.url);
});
afterAll(async () => {
  await app?.close();
  await pos?.close();
  await sim?.stop();
  await nats?.dispose();
});

describe('easycard-session: restart with new key material against stored sessions', () => {
  it('signs every reader on, with the first key material', async () => {
    app = await startInProcess(serviceEnv(nats.url, sim, { EASYCARD_SETTLEMENT_ENABLED: 'false' }));
    await waitFor(
      async () => {
        const sessions = await list();
        return sessions.length === READERS.length && sessions.every((s) => s.usable);
      },
      { what: 'every reader signed on' },
    );
    for (const deviceId of READERS) await keyOf(deviceId);
    await app.close();
    app = undefined;
  });

  it('never calls a reader usable whose key it cannot open, and signs it on again at once', async () => {
    const before = await sim.readers();
    // new key material (serviceEnv generates a fresh key-encryption key); a minute later
    app = await startInProcess(
      serviceEnv(nats.url, sim, { EASYCARD_SETTLEMENT_ENABLED: 'false' }),
      new ManualClock(T0 + 60_000),
    );
    for (const session of await list()) {
      if (session.usable) await keyOf(session.deviceId); // usable means the key can be released
    }
    await waitFor(
      async () => {
        const sessions = await list();
        return sessions.every((s) => s.usable && s.signOns === 2) ? sessions : undefined;
      },
      { what: 'every reader signed on again under the new key material' },
    );
    const issued = await sim.issuedKeys();
    for (const deviceId of READERS) {
      expect((await keyOf(deviceId)).newAesKey).toBe(issued[deviceId].at(-1));
      const failed = await pos.waitForEvents(deviceId, 'failed');
      expect(failed.at(-1)).toMatchObject({ operation: 'signon', reason: 'KEY_UNREADABLE' });
    }
    const after = await sim.readers();
    expect(after.map((r) => r.signOnRequests)).toEqual(before.map((r) => r.signOnRequests + 1));
    const metrics = await app.metrics();
    expect(metricValue(metrics, 'tillbus_easycard_session_unreadable_keys_total')).toBe(
      READERS.length,
    );
    expect(metricValue(metrics, 'tillbus_easycard_session_unusable_readers')).toBe(0);
  });

  it('does not replace keys again under the same key material', async () => {
    const signOns = (await sim.readers()).map((r) => r.signOnRequests);
    await app!.ticks(5);
    expect((await sim.readers()).map((r) => r.signOnRequests)).toEqual(signOns);
  });
});
