import { generateKeyPairSync } from 'node:crypto';
import { ConfigError, SecretResolver } from '@tillbus/config';
import { tradeKeyFromPassword } from '@tillbus/protocols-intella';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseMerchantEntries, resolveMerchants } from './merchants';

const publicPem = generateKeyPairSync('rsa', { modulusLength: 1024 })
  .publicKey.export({ type: 'spki', format: 'pem' })
  .toString();
const entry = (overrides: Record<string, unknown> = {}) => ({
  mchId: 'ACCOUNT001',
  url: 'https://intella.example/allpaypass/api/general',
  tradePassword: 'env:TP',
  publicKey: 'env:PUB',
  iv: 'env:IV',
  ...overrides,
});
const SECRETS = { TP: 'S3cretTradePw', PUB: publicPem, IV: '0123456789abcdef' };

function fieldsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).violations.map((v) => v.field);
  }
  return [];
}

describe('INTELLA_MERCHANTS', () => {
  it('parses several merchants', () => {
    const entries = parseMerchantEntries(JSON.stringify([entry(), entry({ mchId: 'ACCOUNT002' })]));
    expect(entries.map((e) => e.mchId)).toEqual(['ACCOUNT001', 'ACCOUNT002']);
  });

  it.each([
    ['not JSON', '{', ['INTELLA_MERCHANTS']],
    ['an empty list', '[]', ['INTELLA_MERCHANTS']],
    ['an object', '{}', ['INTELLA_MERCHANTS']],
    ['a bad MchId', JSON.stringify([entry({ mchId: 'a b' })]), ['INTELLA_MERCHANTS[0].mchId']],
    ['a bad URL', JSON.stringify([entry({ url: 'ftp://x' })]), ['INTELLA_MERCHANTS[0].url']],
    [
      'a password given by value',
      JSON.stringify([entry({ tradePassword: 'my password!' })]),
      ['INTELLA_MERCHANTS[0].tradePassword'],
    ],
    ['a missing IV', JSON.stringify([{ ...entry(), iv: undefined }]), ['INTELLA_MERCHANTS[0].iv']],
    ['an unknown field', JSON.stringify([entry({ extra: 1 })]), ['INTELLA_MERCHANTS[0].extra']],
    ['a merchant twice', JSON.stringify([entry(), entry()]), ['INTELLA_MERCHANTS']],
  ])('refuses %s, naming the field', (_name, text, fields) => {
    expect(fieldsOf(() => parseMerchantEntries(text))).toEqual(fields);
  });

  it('never echoes a secret value in an error', () => {
    let message = '';
    try {
      parseMerchantEntries(JSON.stringify([entry({ tradePassword: 'S3cret value with spaces' })]));
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('tradePassword');
    expect(message).not.toContain('S3cret');
  });

  it('answers any input with merchants or a ConfigError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.json(), fc.string()), (text) => {
        try {
          parseMerchantEntries(text);
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
        }
      }),
    );
  });
});

describe('resolveMerchants', () => {
  it('resolves the secrets into a TradeKey, a public key and the IV', () => {
    const merchants = resolveMerchants(
      parseMerchantEntries(JSON.stringify([entry()])),
      new SecretResolver({ env: SECRETS }),
    );
    const merchant = merchants.get('ACCOUNT001')!;
    expect(merchant.tradeKey).toBe(tradeKeyFromPassword('S3cretTradePw'));
    expect(merchant.publicKey.asymmetricKeyType).toBe('rsa');
    expect(merchant.iv).toBe('0123456789abcdef');
  });

  it('reports every bad secret at once, by path and reference, never by value', () => {
    let error: ConfigError | undefined;
    try {
      resolveMerchants(
        parseMerchantEntries(JSON.stringify([entry({ tradePassword: 'env:MISSING' })])),
        new SecretResolver({ env: { PUB: 'S3cret-not-a-key', IV: 'S3cret-too-long-iv' } }),
      );
    } catch (e) {
      error = e as ConfigError;
    }
    expect(error?.violations.map((v) => v.field)).toEqual([
      'INTELLA_MERCHANTS[0].tradePassword',
      'INTELLA_MERCHANTS[0].publicKey',
      'INTELLA_MERCHANTS[0].iv',
    ]);
    expect(error?.message).toContain('env:MISSING');
    expect(error?.message).not.toContain('S3cret');
  });
});
