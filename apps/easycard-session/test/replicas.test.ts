import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { easycardKeySubject, type SessionView, SUBJECTS } from '@tillbus/contracts';
import {
  promtoolCheckMetrics,
  spawnTypeScript,
  startTestNatsServer,
  waitFor,
  type ChildService,
  type TestNatsServer,
} from '@tillbus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS } from '../src/metrics';
import type { KeyRelease } from '../src/sessions/key-release.service';
import { randomIv, startSimulatorProcess, type SimProcess } from './support/intella-sim';
import { BusProbe, HOUR, metricValue, serviceEnv } from './support/service';

const MAIN = join(__dirname, '../src/main.ts');
const READERS = 100;
const dir = mkdtempSync(join(tmpdir(), 'easycard-replicas-'));
const offsetFile = join(dir, 'offset');
let nats: TestNatsServer;
let sim: SimProcess;
let pos: BusProbe;
const replicas: ChildService[] = [];

const sessions = async () =>
  (await pos.request<{ sessions: SessionView[] }>(SUBJECTS.easycard.sessionList, { limit: 1000 }))
    .sessions;
const perReader = async () => (await sim.readers()).map((reader) => reader.signOnRequests);
const signOnsLogged = (replica: ChildService) =>
  (replica.output().match(/"msg":"sign-on finished"/g) ?? []).length;

/** Every replica process moves its business clock when this file changes. */
function jumpTo(hours: number): void {
  writeFileSync(offsetFile, String(Math.round(hours * HOUR)));
}

async function opsPort(replica: ChildService): Promise<number> {
  const line = await replica.waitForOutput(/"msg":"ops server listening","port":\d+/, 60_000);
  return Number(/"port":(\d+)/.exec(line)![1]);
}

/** Moves time into the renewal margin and waits until every reader holds `renewals` renewals. */
async function renewalRound(hours: number, renewals: number): Promise<void> {
  jumpTo(hours);
  await waitFor(
    async () => {
      const all = await sessions();
      return (
        all.length === READERS && all.every((s) => s.state === 'signed' && s.renewals === renewals)
      );
    },
    { timeoutMs: 60_000, intervalMs: 200, what: `renewal round ${renewals}` },
  );
}

beforeAll(async () => {
  writeFileSync(offsetFile, '0');
  nats = await startTestNatsServer();
  sim = await startSimulatorProcess({
    merchants: [{ mchId: 'FLEET', password: 'fleet-pw', iv: randomIv(), readerCount: READERS }],
  });
  pos = await BusProbe.connect(nats.url);
  const env = serviceEnv(nats.url, sim, {
    EASYCARD_TICK_MS: '100',
    EASYCARD_CLOCK_OFFSET_FILE: offsetFile,
    EASYCARD_SETTLEMENT_ENABLED: 'false',
    INTELLA_TIMEOUT_MS: '10000',
  });
  for (let i = 0; i < 3; i++) replicas.push(spawnTypeScript(MAIN, { ...env, REPLICA: String(i) }));
  await Promise.all(
    replicas.map((replica) => replica.waitForOutput(/"msg":"easycard-session started"/, 90_000)),
  );
}, 120_000);

afterAll(async () => {
  for (const replica of replicas) replica.kill('SIGKILL');
  await pos?.close();
  await sim?.stop();
  await nats?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('easycard-session: 3 replica processes, 100 readers', () => {
  it('signs every reader on exactly once, sharing the work', async () => {
    await waitFor(
      async () => {
        const all = await sessions();
        return all.length === READERS && all.every((s) => s.state === 'signed');
      },
      { timeoutMs: 60_000, intervalMs: 200, what: 'all 100 readers signed on' },
    );
    await new Promise((r) => setTimeout(r, 500)); // a few more ticks of every replica: nothing more may happen
    expect(await perReader()).toEqual(Array(READERS).fill(1));
    expect(replicas.map(signOnsLogged).reduce((a, b) => a + b)).toBe(READERS);
    expect(replicas.filter((replica) => signOnsLogged(replica) > 0).length).toBeGreaterThanOrEqual(
      2,
    );
  });

  it('renewal round 1: exactly 100 SignOns at the simulator', async () => {
    await renewalRound(28.5, 1);
    await new Promise((r) => setTimeout(r, 500));
    expect(await perReader()).toEqual(Array(READERS).fill(2));
  });

  it('renewal round 2: exactly 100 more', async () => {
    await renewalRound(57, 2);
    await new Promise((r) => setTimeout(r, 500));
    expect(await perReader()).toEqual(Array(READERS).fill(3));
    expect(replicas.map(signOnsLogged).reduce((a, b) => a + b)).toBe(3 * READERS);
  });

  it('a replica killed between rounds: the other two still renew each reader once', async () => {
    replicas[0].kill('SIGKILL');
    await replicas[0].exited;
    await renewalRound(85.5, 3);
    await new Promise((r) => setTimeout(r, 500));
    expect(await perReader()).toEqual(Array(READERS).fill(4));
  });

  it('any replica releases a key sealed by another, equal to the one intella issued', async () => {
    const keys = await sim.issuedKeys();
    for (const deviceId of ['01300001', '01300050', '01300100']) {
      const released = await pos.request<KeyRelease>(easycardKeySubject(deviceId), { deviceId });
      expect(released.newAesKey).toBe(keys[deviceId].at(-1));
    }
  });

  it('every replica reports the same fleet view; metrics pass promtool', async () => {
    for (const replica of replicas.slice(1)) {
      const text = await (await fetch(`http://127.0.0.1:${await opsPort(replica)}/metrics`)).text();
      expect(metricValue(text, METRICS.sessions, { state: 'signed' })).toBe(READERS);
      expect(metricValue(text, METRICS.unusable)).toBe(0);
      expect(metricValue(text, METRICS.earliestExpiry)).toBeGreaterThan(29 * 3600);
      const check = promtoolCheckMetrics(text);
      expect(check.ok, check.output).toBe(true);
    }
  });

  it("no key ever appears in any replica's output (debug logs) or in the event stream", async () => {
    const issued = Object.values(await sim.issuedKeys()).flat();
    expect(issued).toHaveLength(4 * READERS);
    const outputs = replicas.map((replica) => replica.output());
    expect(outputs.join('').includes('"msg":"intella answer"')).toBe(true);
    const stream = (await pos.streamContents()).join('\n');
    expect(stream.split('\n').length).toBeGreaterThanOrEqual(4 * READERS);
    const haystacks = [...outputs, stream, pos.rawEvents.join('\n')];
    for (const key of issued) for (const text of haystacks) expect(text.includes(key)).toBe(false);
  });

  it('a replica stops cleanly on SIGTERM (exit 0)', async () => {
    replicas[1].kill('SIGTERM');
    expect(await replicas[1].exited).toEqual({ code: 0, signal: null });
  });
});
