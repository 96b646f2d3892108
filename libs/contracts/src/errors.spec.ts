import { describe, expect, it } from 'vitest';
import {
  codedError,
  NotFoundError,
  PayloadInvalidError,
  TillbusError,
  toErrorEnvelope,
  UnavailableError,
} from './errors';

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

describe('codedError', () => {
  class SupersededError extends codedError('SUPERSEDED', 'SupersededError') {}
  class RefusedError extends codedError('REFUSED', 'RefusedError') {
    constructor(
      readonly reason: string,
      message: string,
    ) {
      super(message, { reason });
    }
  }

  it('makes a named TillbusError with a fixed code', () => {
    const error = new SupersededError('older than what D-Store has', { seq: 2 });
    expect(error).toBeInstanceOf(TillbusError);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'SupersededError', code: 'SUPERSEDED' });
    expect(error.message).toBe('older than what D-Store has');
    expect(toErrorEnvelope(error)).toEqual({
      code: 'SUPERSEDED',
      message: 'older than what D-Store has',
      details: { seq: 2 },
    });
    expect(toErrorEnvelope(new SupersededError('x'))).toEqual({ code: 'SUPERSEDED', message: 'x' });
  });

  it('can be extended with its own constructor', () => {
    const error = new RefusedError('REGRESSION', 'READY -> ACCEPTED');
    expect(error.reason).toBe('REGRESSION');
    expect(error.name).toBe('RefusedError');
    expect(error.toEnvelope()).toEqual({
      code: 'REFUSED',
      message: 'READY -> ACCEPTED',
      details: { reason: 'REGRESSION' },
    });
  });

  it.each([
    [new PayloadInvalidError('m'), 'PayloadInvalidError', 'PARAM_ILLEGAL'],
    [new NotFoundError('m'), 'NotFoundError', 'NOT_FOUND'],
    [new UnavailableError('m'), 'UnavailableError', 'UNAVAILABLE'],
  ])('keeps the names and codes of the bus errors: %o', (error, name, code) => {
    expect(error).toBeInstanceOf(TillbusError);
    expect(error.name).toBe(name);
    expect(error.code).toBe(code);
  });
});
