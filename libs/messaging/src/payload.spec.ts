import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeJsonPayload } from './payload';

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
