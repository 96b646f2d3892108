import fc from 'fast-check';
import { parseInquireOrderDetailRequest } from '@tillbus/protocols-antom';
import { describe, expect, it } from 'vitest';
import { plainInquiry } from './dstore-edge.service';

/** What the schema parser makes of the same bytes: the id, or undefined when it refuses them. */
function reference(raw: Buffer): string | undefined {
  try {
    return parseInquireOrderDetailRequest(raw, { unknownFields: 'forbid' }).requestOrderId;
  } catch {
    return undefined;
  }
}

describe('plainInquiry (the fast path of the inquiry body)', () => {
  it.each([
    ['{"requestOrderId":"pds_1"}', 'pds_1'],
    ['{ "requestOrderId" : "a b.c" }', 'a b.c'],
    ['{"requestOrderId":""}', undefined],
    ['{"requestOrderId":1}', undefined],
    ['{"requestOrderId":"a","x":1}', undefined],
    ['[]', undefined],
    ['null', undefined],
    ['{', undefined],
  ])('%s -> %s', (text, expected) => {
    expect(plainInquiry(Buffer.from(text))).toBe(expected);
  });

  it('never accepts what the schema parser refuses, and agrees whenever it answers', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.json(),
          fc
            .record({ requestOrderId: fc.oneof(fc.string({ maxLength: 300 }), fc.anything()) })
            .map((v) => JSON.stringify(v)),
          fc.string(),
        ),
        (text) => {
          const raw = Buffer.from(text, 'utf8');
          const fast = plainInquiry(raw);
          if (fast !== undefined) expect(reference(raw)).toBe(fast);
        },
      ),
      { numRuns: 3000 },
    );
    expect(plainInquiry(Buffer.from([0x7b, 0xff, 0x7d]))).toBeUndefined();
    expect(
      plainInquiry(Buffer.from(JSON.stringify({ requestOrderId: 'x'.repeat(256) }))),
    ).toBeUndefined();
    expect(plainInquiry(Buffer.from(JSON.stringify({ requestOrderId: 'x'.repeat(255) })))).toBe(
      'x'.repeat(255),
    );
  });
});
