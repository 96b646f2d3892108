import { describe, expect, it } from 'vitest';
import { BackgroundTaskLog } from './background-tasks';

function harness(intervalMs = 60_000) {
  let now = 1_000_000;
  const lines: Array<{ level: string; msg: string; fields: Record<string, unknown> }> = [];
  const log = new BackgroundTaskLog(
    { event: (level, msg, fields = {}) => lines.push({ level, msg, fields }) },
    { intervalMs, now: () => now },
  );
  return { log, lines, advance: (ms: number) => (now += ms) };
}

const timeout = () => Object.assign(new Error('timeout'), { name: 'TimeoutError' });

describe('BackgroundTaskLog', () => {
  it('logs the first failure naming the task, then at most one line per interval with the count, then recovery', () => {
    const { log, lines, advance } = harness();
    // An outage of 64 s with the task failing every 500 ms: 128 failures.
    for (let i = 0; i < 128; i++) {
      log.failed('owner-lease-renewal', timeout());
      advance(500);
    }
    log.succeeded('owner-lease-renewal');
    expect(lines.map((line) => [line.level, line.msg])).toEqual([
      ['error', 'background task failed: owner-lease-renewal'],
      ['error', 'background task still failing: owner-lease-renewal'],
      ['info', 'background task recovered: owner-lease-renewal'],
    ]);
    expect(lines[0].fields).toMatchObject({
      task: 'owner-lease-renewal',
      error: { message: 'timeout' },
    });
    expect(lines[1].fields).toMatchObject({ repeated: 120, failingForMs: 60_000 });
    expect(lines[2].fields).toMatchObject({ failures: 128, repeated: 7, failedForMs: 64_000 });
  });

  it('limits each task on its own, and a success without a failure logs nothing', () => {
    const { log, lines, advance } = harness(10_000);
    log.succeeded('sweep');
    log.failed('sweep', timeout());
    log.failed('presence-tick', timeout());
    advance(5_000);
    log.failed('sweep', timeout());
    log.failed('presence-tick', timeout());
    expect(lines.map((line) => line.fields.task)).toEqual(['sweep', 'presence-tick']);
    advance(5_000);
    log.failed('sweep', timeout());
    expect(lines.at(-1)).toMatchObject({ fields: { task: 'sweep', repeated: 2 } });
    expect(log.isFailing('presence-tick')).toBe(true);
  });

  it('starts over after a recovery: the next outage logs its first failure at once', async () => {
    const { log, lines } = harness();
    await log.run('sweep', () => Promise.reject(timeout()));
    await log.run('sweep', () => undefined);
    await log.run('sweep', () => {
      throw timeout();
    });
    expect(lines.map((line) => line.msg)).toEqual([
      'background task failed: sweep',
      'background task recovered: sweep',
      'background task failed: sweep',
    ]);
  });
});
