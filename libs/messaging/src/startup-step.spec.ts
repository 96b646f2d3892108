import { describe, expect, it } from 'vitest';
import { immediateRetries } from './records/retry';
import { runStartupStep, STARTUP_RETRY } from './startup-step';

describe('runStartupStep', () => {
  it('retries until the step works, one line per failed attempt naming the step and its target', async () => {
    const lines: Array<{ level: string; msg: string; fields: Record<string, unknown> }> = [];
    const reports: string[] = [];
    let calls = 0;
    const result = await runStartupStep(
      'declare stream',
      'TILLBUS_DLQ',
      async () => {
        if (++calls < 3) throw new Error('timeout');
        return 'created';
      },
      {
        logger: { event: (level, msg, fields = {}) => lines.push({ level, msg, fields }) },
        ops: { reportStartup: (detail) => reports.push(detail) },
        policy: { maxAttempts: Infinity, delayMs: () => 0 },
      },
    );
    expect(result).toBe('created');
    expect(
      lines.map((line) => [line.level, line.fields.step, line.fields.target, line.fields.attempt]),
    ).toEqual([
      ['warn', 'declare stream', 'TILLBUS_DLQ', 1],
      ['warn', 'declare stream', 'TILLBUS_DLQ', 2],
      ['info', 'declare stream', 'TILLBUS_DLQ', undefined],
    ]);
    expect(lines[0].msg).toContain('declare stream TILLBUS_DLQ');
    expect(reports).toContain(
      'declare stream TILLBUS_DLQ: attempt 2 failed (timeout); retrying in 0 ms',
    );
  });

  it('gives up only when the policy does', async () => {
    await expect(
      runStartupStep('open bucket', 'b', () => Promise.reject(new Error('no')), {
        logger: { event: () => undefined },
        policy: immediateRetries(2),
      }),
    ).rejects.toThrow('no');
  });

  it('pauses at most half a second between attempts, so a boot that waited is ready within a second of quorum', () => {
    const pauses = Array.from({ length: 60 }, (_, i) => STARTUP_RETRY.delayMs(i + 1));
    expect(pauses.slice(0, 3)).toEqual([250, 500, 500]);
    expect(Math.max(...pauses)).toBe(500);
    expect(STARTUP_RETRY.maxAttempts).toBe(Infinity);
  });

  it('logs each of the first 30 failed attempts at warn, then one line in 20 at error', async () => {
    const lines: Array<{ level: string; attempt: unknown }> = [];
    let calls = 0;
    await runStartupStep(
      'reach',
      'JetStream',
      async () => {
        if (++calls <= 80) throw new Error('timeout');
      },
      {
        logger: {
          event: (level, _msg, fields = {}) => lines.push({ level, attempt: fields.attempt }),
        },
        policy: { maxAttempts: Infinity, delayMs: () => 0 },
      },
    );
    expect(lines.filter((line) => line.level === 'warn')).toHaveLength(30);
    expect(lines.filter((line) => line.level === 'error').map((line) => line.attempt)).toEqual([
      40, 60, 80,
    ]);
  });

  // A put sent while its stream had no leader is not answered once the leader is there: the boot waited for the
  // client's 5 s timeout, and the stack was ready 4.2 s after quorum (cluster tier, cold start).
  it('does not wait for an attempt that goes unanswered: the next one goes out after the pause', async () => {
    const reports: string[] = [];
    let calls = 0;
    const started = Date.now();
    const result = await runStartupStep(
      'seed',
      'terminal registry',
      () => (++calls === 1 ? new Promise<string>(() => undefined) : Promise.resolve('seeded')),
      {
        logger: { event: () => undefined },
        ops: { reportStartup: (detail) => reports.push(detail) },
        policy: { maxAttempts: Infinity, delayMs: () => 0 },
        patienceMs: 50,
      },
    );
    expect(result).toBe('seeded');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(reports).toContain(
      'seed terminal registry: attempt 1 failed (no answer within 50 ms); retrying in 0 ms',
    );
  });
});
