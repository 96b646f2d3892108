import { describe, expect, it } from 'vitest';
import { immediateRetries } from './records/retry';
import { runStartupStep } from './startup-step';

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
});
