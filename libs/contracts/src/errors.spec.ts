import { describe, expect, it } from 'vitest';
import {
  codedError,
  NotFoundError,
  serviceError,
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

describe('cause', () => {
  const CODES = { JAMMED: 'the printer is jammed', EMPTY: 'the printer is out of paper' } as const;
  class PrinterError extends serviceError('PrinterError', CODES) {}
  class GoneError extends codedError('GONE', 'GoneError') {}
  const kvError = new Error('TIMEOUT');

  it.each([
    new TillbusError('X', 'm', undefined, { cause: kvError }),
    new UnavailableError('m', undefined, { cause: kvError }),
    new GoneError('m', { d: 1 }, { cause: kvError }),
    new PrinterError('JAMMED', 'm', undefined, { cause: kvError }),
  ])('is kept on the error and never put in the envelope: %o', (error) => {
    expect(error.cause).toBe(kvError);
    expect(JSON.stringify(toErrorEnvelope(error))).not.toContain('TIMEOUT');
  });

  it('a service error takes any code of its table, under its own name', () => {
    const error = new PrinterError('EMPTY', 'printer 3 is out of paper', { printer: 3 });
    expect(error).toBeInstanceOf(TillbusError);
    expect(error).toMatchObject({ name: 'PrinterError', code: 'EMPTY' });
    expect(PrinterError.codes).toBe(CODES);
    expect(error.toEnvelope()).toEqual({
      code: 'EMPTY',
      message: 'printer 3 is out of paper',
      details: { printer: 3 },
    });
  });
});
