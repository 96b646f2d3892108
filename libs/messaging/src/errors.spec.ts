import { describe, expect, it } from 'vitest';
import { NotFoundError, PayloadInvalidError, TillbusError, toErrorEnvelope } from './errors';

describe('toErrorEnvelope', () => {
  it.each([
    [
      new TillbusError('DEVICE_BUSY', 'busy', { d: 1 }),
      { code: 'DEVICE_BUSY', message: 'busy', details: { d: 1 } },
    ],
    [new PayloadInvalidError('bad'), { code: 'PARAM_ILLEGAL', message: 'bad' }],
    [new NotFoundError('no such terminal'), { code: 'NOT_FOUND', message: 'no such terminal' }],
    [
      { code: 'X', message: 'y', extra: 'dropped' },
      { code: 'X', message: 'y' },
    ],
  ])('keeps typed errors: %o', (error, envelope) => {
    expect(toErrorEnvelope(error)).toEqual(envelope);
  });

  it.each([new Error('secret=hunter2'), 'a string', null, undefined, 42, { message: 'no code' }])(
    'turns anything else into INTERNAL_ERROR without leaking it: %o',
    (error) => {
      expect(toErrorEnvelope(error, 'c-1')).toEqual({
        code: 'INTERNAL_ERROR',
        message: 'internal error (correlation id c-1)',
      });
    },
  );
});
