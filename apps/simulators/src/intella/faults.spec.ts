import { describe, expect, it } from 'vitest';
import {
  FaultBook,
  FaultSpecError,
  INTELLA_FAULT_KINDS,
  parseFaultFlag,
  parseFaultSpec,
} from './faults';

describe('fault specs', () => {
  it('covers every fault the issue asks for', () => {
    for (const kind of [
      'bad-trade-key',
      'decrypt-fail',
      'unavailable',
      'ongoing',
      'retry',
      'reader-in-use',
      'unsettled',
      'slow',
      'no-answer',
      'deactivated',
    ])
      expect(INTELLA_FAULT_KINDS).toContain(kind);
  });

  it.each([
    ['unavailable', { kind: 'unavailable' }],
    ['kind=retry,device=01300001,times=1', { kind: 'retry', deviceId: '01300001', times: 1 }],
    ['slow,delay=2000,service=SignOn', { kind: 'slow', delayMs: 2000, serviceType: 'SignOn' }],
    ['deactivated, mch=ACC1 ,', { kind: 'deactivated', mchId: 'ACC1' }],
  ])('parses %s', (text, spec) => {
    expect(parseFaultFlag(text)).toEqual(spec);
  });

  it.each([
    '',
    'meteor',
    'retry,times=0',
    'retry,times=x',
    'retry,device=a.b',
    'retry,what=1',
    'retry,devicex',
  ])('refuses %j', (text) => {
    expect(() => parseFaultFlag(text)).toThrow(FaultSpecError);
  });

  it('refuses unknown fields in the JSON form', () => {
    expect(() => parseFaultSpec({ kind: 'retry', extra: 1 })).toThrow(/fault.extra/);
  });
});

describe('FaultBook', () => {
  it('applies faults in order, scoped, and drops one whose times ran out', () => {
    const book = new FaultBook();
    book.add({ kind: 'unavailable', deviceId: 'A', times: 2 });
    book.add({ kind: 'retry', serviceType: 'SignOn' });
    expect(book.take({ serviceType: 'SignOn', deviceId: 'B' })?.kind).toBe('retry');
    expect(book.take({ serviceType: 'SignOn', deviceId: 'A' })?.kind).toBe('unavailable');
    expect(book.take({ serviceType: 'Settlement', deviceId: 'A' })?.kind).toBe('unavailable');
    expect(book.take({ serviceType: 'Settlement', deviceId: 'A' })).toBeUndefined();
    expect(book.list().map((f) => f.kind)).toEqual(['retry']);
    expect(book.remove(99)).toBe(false);
    book.clear();
    expect(book.take({ serviceType: 'SignOn' })).toBeUndefined();
  });
});
