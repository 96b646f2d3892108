import { describe, expect, it } from 'vitest';
import { runWithCorrelation } from './correlation';
import { JsonLogger } from './json-logger';

function capture(level: 'info' | 'debug' = 'info') {
  const lines: Record<string, unknown>[] = [];
  const logger = new JsonLogger({ service: 'svc', level, write: (l) => lines.push(JSON.parse(l)) });
  return { logger, lines };
}

describe('JsonLogger', () => {
  it('writes one JSON object with service, level, message and correlation id', () => {
    const { logger, lines } = capture();
    runWithCorrelation('corr-1', () => logger.event('info', 'hello', { terminalCount: 3 }));
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'info',
        service: 'svc',
        msg: 'hello',
        correlationId: 'corr-1',
        terminalCount: 3,
      }),
    ]);
  });

  it('redacts secrets passed by careless callers through the Nest interface', () => {
    const { logger, lines } = capture();
    logger.log(
      { msg: 'signed', signature: 'abc', body: { tradeKey: 'k', card: '4111111111111111' } },
      'Ctx',
    );
    expect(lines[0]).toMatchObject({ msg: 'signed', context: 'Ctx', signature: '[REDACTED]' });
    expect(JSON.stringify(lines[0])).not.toContain('abc');
    expect(JSON.stringify(lines[0])).not.toContain('4111111111111111');
  });

  it('keeps the stack and context of Nest error calls and honours the level', () => {
    const { logger, lines } = capture('info');
    logger.error('boom', 'Error: boom\n    at x (file.ts:1:1)', 'Scheduler');
    logger.debug('hidden');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'error', msg: 'boom', context: 'Scheduler' });
    expect(String(lines[0].stack)).toContain('at x');
  });
});
