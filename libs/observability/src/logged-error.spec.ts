import { describe, expect, it } from 'vitest';
import { redact } from './redact';

class CodedError extends Error {
  override readonly name = 'CodedError';
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

describe('errors in log lines (through redact)', () => {
  it('keeps the code, the message and the whole cause chain', () => {
    const root = new Error('connection refused');
    const middle = new CodedError('UNAVAILABLE', 'KV did not answer', { cause: root });
    const top = new CodedError('DISPATCH_FAILED', 'could not dispatch', { cause: middle });
    const logged = redact({ error: top }) as { error: Record<string, unknown> };
    expect(logged.error).toMatchObject({
      name: 'CodedError',
      code: 'DISPATCH_FAILED',
      message: 'could not dispatch',
      cause: {
        code: 'UNAVAILABLE',
        message: 'KV did not answer',
        cause: { name: 'Error', message: 'connection refused' },
      },
    });
  });

  it('keeps the stack of an unexpected error only', () => {
    const logged = redact({
      unexpected: new TypeError('x is undefined'),
      typed: new CodedError('NOT_FOUND', 'no such order'),
    }) as Record<string, Record<string, unknown>>;
    expect(String(logged.unexpected.stack)).toContain('TypeError: x is undefined');
    expect(logged.typed.stack).toBeUndefined();
  });

  it('redacts secrets and card numbers anywhere in the chain', () => {
    const cause = Object.assign(new Error('declined 4111 1111 1111 1111'), { apiKey: 'k-123' });
    const logged = JSON.stringify(
      redact({ error: new CodedError('VENDOR_ERROR', 'vendor said no', { cause }) }),
    );
    expect(logged).not.toContain('4111 1111 1111 1111');
    expect(logged).not.toContain('k-123');
    expect(logged).toContain('declined 411111**********');
  });

  it('survives a cause cycle and a non-error cause', () => {
    const a = new CodedError('A', 'a');
    const b = new CodedError('B', 'b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(() => JSON.stringify(redact({ error: b }))).not.toThrow();
    const plain = redact({ error: new CodedError('C', 'c', { cause: { reason: 'timeout' } }) });
    expect(plain).toMatchObject({ error: { cause: { reason: 'timeout' } } });
  });
});
