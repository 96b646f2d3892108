import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSensitiveName, maskCardNumbers, redact, REDACTED } from './redact';

describe('redact', () => {
  it.each([
    'privateKey',
    'private_key',
    'NewAESKey',
    'aesKey',
    'symmetricKey',
    'apiKey',
    'x-api-key',
    'TradeKey',
    'tradePassword',
    'passphrase',
    'signature',
    'Signature',
    'authorization',
    'acquirerMetaData',
    'cardNumber',
    'pan',
    'track2',
    'track2Data',
    'cvv',
    'token',
    'secret',
    'NATS_PASSWORD',
  ])('hides the field %s', (name) => {
    expect(isSensitiveName(name)).toBe(true);
    expect(redact({ [name]: 'value' })).toEqual({ [name]: REDACTED });
  });

  it.each(['terminalId', 'cardBin', 'keyVersion', 'requestId', 'status', 'panel', 'expanded'])(
    'keeps the field %s',
    (name) => expect(isSensitiveName(name)).toBe(false),
  );

  it('masks card numbers inside strings, keeping the BIN', () => {
    expect(maskCardNumbers('paid with 4111111111111111 ok')).toBe('paid with 411111********** ok');
    expect(maskCardNumbers('4111-1111-1111-1111')).toBe('411111**********');
    expect(maskCardNumbers('amount 50000 KRW')).toBe('amount 50000 KRW');
  });

  it('walks nested objects and arrays, survives cycles', () => {
    const cyclic: Record<string, unknown> = { a: [{ signature: 's', ok: 1 }] };
    cyclic.self = cyclic;
    expect(redact(cyclic)).toEqual({ a: [{ signature: REDACTED, ok: 1 }], self: '[Circular]' });
  });

  it('never throws and never returns a sensitive value, whatever the input', () => {
    fc.assert(
      fc.property(fc.anything(), fc.string(), (value, secret) => {
        const out = JSON.stringify(
          redact({ value, privateKey: secret, nested: { tradeKey: secret } }),
        );
        expect(out).toContain(`"privateKey":"${REDACTED}"`);
        expect(out).toContain(`"tradeKey":"${REDACTED}"`);
      }),
    );
  });
});
