import type { ArgumentsHost } from '@nestjs/common';
import { TillbusError, UnavailableError, type ErrorEnvelope } from '@tillbus/contracts';
import { JsonLogger, runWithCorrelation } from '@tillbus/observability';
import { firstValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { BusExceptionFilter, type UnknownErrorReply } from './bus-errors';

const host = {
  switchToRpc: () => ({ getContext: () => ({ getSubject: () => 'tillbus.test.work' }) }),
} as unknown as ArgumentsHost;

/** The reply the filter gives for `exception`, and the log lines it wrote, under correlation id c-1. */
async function handle(exception: unknown, unknownErrorReply?: UnknownErrorReply) {
  const lines: Record<string, unknown>[] = [];
  const logger = new JsonLogger({ service: 'svc', write: (line) => lines.push(JSON.parse(line)) });
  const filter = new BusExceptionFilter(logger, unknownErrorReply);
  const reply = await runWithCorrelation('c-1', () =>
    firstValueFrom(filter.catch(exception, host)).then(
      () => undefined,
      (envelope: ErrorEnvelope) => envelope,
    ),
  );
  return { reply, lines };
}

/** A KV failure wrapped twice, the way services wrap what they catch. */
function wrappedFailure(): Error {
  const natsError = new Error('TIMEOUT waiting for the KV put');
  const unavailable = new UnavailableError('store unreachable; retry', undefined, {
    cause: natsError,
  });
  return new Error('could not save the record', { cause: unavailable });
}

describe('BusExceptionFilter', () => {
  it('answers a typed error with its envelope and logs nothing', async () => {
    const { reply, lines } = await handle(new TillbusError('DEVICE_BUSY', 'busy', { d: 1 }));
    expect(reply).toEqual({ code: 'DEVICE_BUSY', message: 'busy', details: { d: 1 } });
    expect(lines).toEqual([]);
  });

  it('never sends a typed error its cause', async () => {
    const { reply } = await handle(
      new UnavailableError('retry', undefined, { cause: new Error('secret=hunter2') }),
    );
    expect(reply).toEqual({ code: 'UNAVAILABLE', message: 'retry' });
  });

  it('logs an unknown error once, whole: the code and message of every cause, the stack of the unexpected', async () => {
    const { reply, lines } = await handle(wrappedFailure());
    expect(reply).toEqual({
      code: 'INTERNAL_ERROR',
      message: 'internal error (correlation id c-1)',
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'error',
      msg: 'handler failed',
      correlationId: 'c-1',
      subject: 'tillbus.test.work',
      error: {
        name: 'Error',
        message: 'could not save the record',
        stack: expect.stringContaining('could not save the record'),
        cause: {
          name: 'UnavailableError',
          code: 'UNAVAILABLE',
          message: 'store unreachable; retry',
          cause: { name: 'Error', message: 'TIMEOUT waiting for the KV put' },
        },
      },
    });
    expect((lines[0].error as { cause: object }).cause).not.toHaveProperty('stack');
  });

  it("answers an unknown error with the service's declared reply, without its details", async () => {
    const { reply, lines } = await handle(wrappedFailure(), {
      code: 'UNAVAILABLE',
      message: 'retry with the same requestId',
    });
    expect(reply).toEqual({ code: 'UNAVAILABLE', message: 'retry with the same requestId' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'handler failed', correlationId: 'c-1' });
  });
});
