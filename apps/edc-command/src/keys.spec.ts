import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { paramsHash, parseRecordKey, recordKey } from './keys';

const deviceId = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
const requestId = fc.stringMatching(/^[A-Za-z0-9_:-]{1,128}$/);

describe('record keys', () => {
  it('are valid KV keys and read back to the same ids', () => {
    fc.assert(
      fc.property(deviceId, requestId, (d, r) => {
        const key = recordKey(d, r);
        expect(key).toMatch(/^[-/_=.A-Za-z0-9]+$/);
        expect(parseRecordKey(key)).toEqual({ deviceId: d, requestId: r });
      }),
    );
  });

  it('never map two requestIds to one key', () => {
    expect(recordKey('d', 'a:b')).not.toBe(recordKey('d', 'a-b'));
    expect(recordKey('d', 'a:b')).toBe('d.a=b');
    expect(parseRecordKey('nodot')).toBeNull();
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
