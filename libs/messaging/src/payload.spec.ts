import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, decodeJsonPayload } from './payload';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('decodeJsonPayload', () => {
  it('decodes JSON and gives the caller-chosen value for an empty payload', () => {
    expect(decodeJsonPayload(bytes('{"a":[1,"é"]}'), null)).toEqual({
      ok: true,
      value: { a: [1, 'é'] },
    });
    expect(decodeJsonPayload(new Uint8Array(0), {})).toEqual({ ok: true, value: {} });
  });

  it('reads only its own bytes of a shared buffer', () => {
    const shared = bytes('xx{"k":1}yy');
    expect(decodeJsonPayload(shared.subarray(2, 9), null)).toEqual({ ok: true, value: { k: 1 } });
  });

  it('never throws: malformed bytes give a reason', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (data) => {
        const result = decodeJsonPayload(data, null);
        if (!result.ok) expect(typeof result.reason).toBe('string');
      }),
    );
    expect(decodeJsonPayload(bytes('{"id": "x",'), null).ok).toBe(false);
  });
});

describe('canonicalJson', () => {
  it('does not depend on the order the keys were written in, at any depth', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] })).toBe('{"a":[{"c":3,"d":2}],"b":1}');
    const a = { commandName: 'Purchase', params: { b: { y: 1, x: 2 }, a: [1, { d: 1, c: 2 }] } };
    const b = { params: { a: [1, { c: 2, d: 1 }], b: { x: 2, y: 1 } }, commandName: 'Purchase' };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
  });

  it('drops undefined members and writes null for an undefined value', () => {
    expect(canonicalJson({ a: undefined, b: null })).toBe('{"b":null}');
    expect(canonicalJson([undefined, 1])).toBe('[null,1]');
    expect(canonicalJson(undefined)).toBe('null');
  });

  it('reads back as the same JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });
});
