import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSeed, SeedError } from './seed';

const yaml = `
terminals:
  - terminalId: a1
    vendor: antom
    vendorId: SN1
    storeId: s1
    connection: { kind: antom, baseUrl: 'http://127.0.0.1:1', privateKeyRef: env:K, terminalPublicKeyRef: env:P }
  - terminalId: y1
    vendor: adyen
    vendorId: V400m-1
    storeId: s1
    connection: { kind: adyen-cloud, apiKeyRef: env:A, merchantAccount: M }
`;

describe('parseSeed', () => {
  it('reads YAML with a terminals list', () => {
    expect(parseSeed(yaml, 'f').map((t) => t.terminalId)).toEqual(['a1', 'y1']);
  });

  it('reads a bare JSON list', () => {
    const list = parseSeed(yaml, 'f');
    expect(parseSeed(JSON.stringify(list), 'f')).toHaveLength(2);
  });

  it('reports every bad entry at once, naming index and field', () => {
    const bad = yaml
      .replace('vendorId: SN1', 'vendorId: "S N"')
      .replace('merchantAccount: M', 'merchantAccount: "M M"');
    const error = (() => {
      try {
        parseSeed(bad, 'TERMINALS_FILE x.yaml');
      } catch (e) {
        return e as SeedError;
      }
    })();
    expect(error).toBeInstanceOf(SeedError);
    expect(error!.message).toMatch(
      /^TERMINALS_FILE x.yaml: terminals\[0\].vendorId: .*terminals\[1\].connection.merchantAccount/,
    );
  });

  it('refuses duplicate terminal ids and documents of the wrong shape', () => {
    expect(() => parseSeed(yaml.replace('terminalId: y1', 'terminalId: a1'), 'f')).toThrow(
      /terminals\[1\].terminalId: a1 is already used by terminals\[0\]/,
    );
    expect(() => parseSeed('terminals: 3', 'f')).toThrow(/expected \{terminals/);
    expect(() => parseSeed('{ nope', 'f')).toThrow(/not valid YAML or JSON/);
  });

  it('never throws anything but a SeedError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
        try {
          parseSeed(text, 'f');
        } catch (error) {
          expect(error).toBeInstanceOf(SeedError);
        }
      }),
      { numRuns: 300 },
    );
  });
});
