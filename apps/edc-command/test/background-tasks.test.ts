import { ShiftableClock } from '@tillbus/messaging';
import { startTestNatsServer, waitFor, type TestNatsServer } from '@tillbus/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReplica, type Replica } from './support';

let nats: TestNatsServer;
let replica: Replica;
beforeAll(async () => {
  nats = await startTestNatsServer();
  replica = await startReplica(nats.url, new ShiftableClock(), 'bg-tasks', {
    EDC_SWEEP_INTERVAL_MS: '500',
  });
}, 60_000);
afterAll(async () => {
  await replica?.close().catch(() => undefined);
  await nats?.dispose();
});

type Line = { level: string; msg: string; task?: string; repeated?: number; failures?: number };
const backgroundLines = () =>
  replica.logs
    .map((line) => JSON.parse(line) as Line)
    .filter((line) => line.msg.startsWith('background task'));

describe('edc-command background tasks during a NATS outage', () => {
  it('names the task in every failure line, logs each task once per minute at most, and logs its recovery', async () => {
    await nats.stop();
    // Lease renewal runs every second and its KV put fails after 5 s: several failures in 12 s.
    await waitFor(
      () => backgroundLines().some((line) => line.msg.endsWith('owner-lease-renewal')),
      { timeoutMs: 30_000, what: 'the lease renewal failing' },
    );
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    await nats.restart();
    await waitFor(
      () =>
        backgroundLines().some(
          (line) => line.msg === 'background task recovered: owner-lease-renewal',
        ),
      { timeoutMs: 30_000, what: 'the lease renewal recovering' },
    );

    const lines = backgroundLines();
    for (const line of lines) {
      expect(line.task, JSON.stringify(line)).toMatch(/^[a-z-]+$/);
      expect(line.msg).toContain(line.task);
    }
    const renewal = lines.filter((line) => line.task === 'owner-lease-renewal');
    expect(renewal.map((line) => line.msg)).toEqual([
      'background task failed: owner-lease-renewal',
      'background task recovered: owner-lease-renewal',
    ]);
    // how many rounds failed depends on where the outage caught the renewal (a round held while NATS is away does
    // not run): the limit itself is the unit spec's (libs/observability background-tasks.spec.ts)
    expect(renewal[1].failures).toBeGreaterThanOrEqual(1);
    for (const task of new Set(lines.map((line) => line.task))) {
      const failedLines = lines.filter(
        (line) => line.task === task && line.msg.startsWith('background task failed'),
      );
      expect(failedLines.length, task).toBeLessThanOrEqual(1);
    }
  }, 90_000);
});
