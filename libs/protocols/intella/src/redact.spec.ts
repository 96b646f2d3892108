import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REDACTED, redactIntella } from './redact';

describe('redactIntella', () => {
  it('masks TradeKey in a plain request and NewAESKey in Data given as an object or as JSON text', () => {
    const request = {
      Header: { MchId: 'A', TradeKey: '5e88abc' },
      Data: '{"DeviceId":"1","Retry":"0"}',
    };
    const response = {
      Header: { StatusCode: '0000' },
      Data: { ErrorCode: '000000', NewAESKey: '2fb7' },
    };
    const responseText = { ...response, Data: JSON.stringify(response.Data) };
    expect(redactIntella(request)).toEqual({
      ...request,
      Header: { MchId: 'A', TradeKey: REDACTED },
    });
    expect(redactIntella(response)).toEqual({
      ...response,
      Data: { ErrorCode: '000000', NewAESKey: REDACTED },
    });
    expect(JSON.parse(redactIntella(responseText).Data)).toEqual({
      ErrorCode: '000000',
      NewAESKey: REDACTED,
    });
  });

  it('leaves the input untouched', () => {
    const response = { Data: { NewAESKey: 'k' } };
    redactIntella(response);
    expect(response.Data.NewAESKey).toBe('k');
  });

  it('survives cycles and deep nesting', () => {
    const cyclic: Record<string, unknown> = { TradeKey: 't' };
    cyclic.self = cyclic;
    expect(redactIntella(cyclic)).toEqual({ TradeKey: REDACTED, self: REDACTED });
    let deep: Record<string, unknown> = { NewAESKey: 'k' };
    for (let i = 0; i < 100; i++) deep = { next: deep };
    expect(JSON.stringify(redactIntella(deep))).not.toContain('"k"');
  });

  it('no secret value survives, whatever the shape', () => {
    const secret = 'S3CR3T-VALUE';
    const withSecret = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.constant<unknown>({ TradeKey: secret }),
        fc.constant<unknown>({ NewAESKey: secret }),
        fc.constant<unknown>(JSON.stringify({ NewAESKey: secret })),
        fc.jsonValue(),
        fc.array(tie('node')),
        fc.dictionary(fc.string(), tie('node')),
      ),
    })).node;
    fc.assert(
      fc.property(withSecret, (value) => {
        expect(JSON.stringify(redactIntella(value)) ?? '').not.toContain(secret);
      }),
    );
  });
});
