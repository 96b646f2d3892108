import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inDoubtKey, paramsHash, recordKey, requestIdOfRecordKey } from './keys';

const deviceId = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
const requestId = fc.stringMatching(/^[A-Za-z0-9_:-]{1,128}$/);

describe('record keys', () => {
  it('are valid KV keys and read back to the same requestId', () => {
    fc.assert(
      fc.property(requestId, (r) => {
        const key = recordKey(r);
        expect(key).toMatch(/^[-/_=A-Za-z0-9]+$/);
        expect(requestIdOfRecordKey(key)).toBe(r);
      }),
    );
  });

  it('are the requestId alone: one payment per requestId, whatever the device', () => {
    expect(recordKey('pay-1')).toBe('pay-1');
    expect(recordKey('a:b')).toBe('a=b');
    fc.assert(
      fc.property(requestId, requestId, (a, b) => {
        expect(recordKey(a) === recordKey(b)).toBe(a === b);
      }),
    );
  });
});

describe('in-doubt keys', () => {
  it('name the device and the requestId, one to one', () => {
    expect(inDoubtKey('dev1', 'a:b')).toBe('dev1.a=b');
    fc.assert(
      fc.property(deviceId, requestId, deviceId, requestId, (d1, r1, d2, r2) => {
        expect(inDoubtKey(d1, r1)).toMatch(/^[-/_=.A-Za-z0-9]+$/);
        expect(inDoubtKey(d1, r1) === inDoubtKey(d2, r2)).toBe(d1 === d2 && r1 === r2);
      }),
    );
  });
});

describe('params hash', () => {
  it('does not depend on the order the POS wrote the fields in', () => {
    const a = { commandName: 'Purchase', params: { b: { y: 1, x: 2 }, a: [1, { d: 1, c: 2 }] } };
    const b = { params: { a: [1, { c: 2, d: 1 }], b: { x: 2, y: 1 } }, commandName: 'Purchase' };
    expect(paramsHash(a)).toBe(paramsHash(b));
    expect(paramsHash(a)).not.toBe(
      paramsHash({ ...a, params: { ...a.params, b: { x: 2, y: 2 } } }),
    );
  });
});
